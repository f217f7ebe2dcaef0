import type { LlmHttp } from './http.ts';
import {
  type LlmAdapter,
  type LlmMessage,
  type LlmModel,
  LlmProviderError,
  type LlmRequest,
  type LlmResult,
  type OnDelta,
  parseArgs,
  systemPrompt,
  turnCollector,
} from './types.ts';

/*
 * Anthropic Messages (`POST {base}/messages`, `GET {base}/models`, base default `https://api.anthropic.com/v1`).
 * System prompts travel in `system`; tool calls are `tool_use` content blocks and results `tool_result` blocks in
 * a user turn. Streaming events: message_start (input usage), content_block_start/delta/stop (text_delta,
 * input_json_delta), message_delta (stop_reason, output usage), message_stop.
 */

const version = '2023-06-01';
const defaultMaxTokens = 4096;

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string };

export function toAnthropic(messages: LlmMessage[]): {
  system: string;
  messages: { role: string; content: Block[] }[];
} {
  const system = systemPrompt(messages);
  const { push, turns } = turnCollector<Block>();
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') push('user', { type: 'tool_result', tool_use_id: m.toolCallId, content: m.content });
    else if (m.role === 'assistant') {
      if (m.content) push('assistant', { type: 'text', text: m.content });
      for (const c of m.toolCalls ?? [])
        push('assistant', { type: 'tool_use', id: c.id, name: c.name, input: parseArgs(c.arguments) });
    } else push('user', { type: 'text', text: m.content });
  }
  return { system, messages: turns.map((t) => ({ role: t.role, content: t.pieces })) };
}

const finish = (stop: string | undefined) =>
  stop === 'tool_use'
    ? 'tool_calls'
    : stop === 'max_tokens'
      ? 'length'
      : stop === undefined
        ? 'stop'
        : stop === 'end_turn'
          ? 'stop'
          : stop;

export class AnthropicAdapter implements LlmAdapter {
  constructor(
    private readonly http: LlmHttp,
    private readonly base: string,
    private readonly apiKey: string | undefined,
  ) {}

  private headers(): Record<string, string> {
    return { 'anthropic-version': version, ...(this.apiKey ? { 'x-api-key': this.apiKey } : {}) };
  }

  async complete(request: LlmRequest, options: { signal?: AbortSignal; onDelta?: OnDelta }): Promise<LlmResult> {
    const { system, messages } = toAnthropic(request.messages);
    const body: Record<string, unknown> = {
      model: request.model,
      max_tokens: request.maxTokens ?? defaultMaxTokens,
      messages,
      ...(system ? { system } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.tools && request.tools.length > 0
        ? {
            tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters })),
          }
        : {}),
    };
    const url = `${this.base}/messages`;
    if (!options.onDelta) {
      const res = (await this.http.json(url, { method: 'POST', headers: this.headers(), body }, options.signal)) as {
        content?: Block[];
        stop_reason?: string;
        usage?: { input_tokens?: number; output_tokens?: number };
      };
      if (!Array.isArray(res.content)) throw new LlmProviderError('provider answered without content');
      let content = '';
      const toolCalls = [];
      for (const b of res.content) {
        if (b.type === 'text') content += b.text;
        else if (b.type === 'tool_use')
          toolCalls.push({ id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) });
      }
      return {
        content,
        toolCalls,
        finishReason: finish(res.stop_reason),
        usage: { inputTokens: res.usage?.input_tokens ?? 0, outputTokens: res.usage?.output_tokens ?? 0 },
      };
    }
    const onDelta = options.onDelta;
    let content = '';
    let stop: string | undefined;
    let inputTokens = 0;
    let outputTokens = 0;
    const blocks = new Map<number, { id: string; name: string; json: string }>();
    for await (const ev of this.http.events(
      url,
      { headers: this.headers(), body: { ...body, stream: true } },
      options.signal,
    )) {
      let data: any;
      try {
        data = JSON.parse(ev.data);
      } catch {
        throw new LlmProviderError('provider sent a stream event that is not JSON');
      }
      switch (data.type) {
        case 'message_start':
          inputTokens = data.message?.usage?.input_tokens ?? 0;
          outputTokens = data.message?.usage?.output_tokens ?? 0;
          break;
        case 'content_block_start':
          if (data.content_block?.type === 'tool_use') {
            blocks.set(data.index, { id: data.content_block.id, name: data.content_block.name, json: '' });
          } else if (data.content_block?.type === 'text' && data.content_block.text) {
            content += data.content_block.text;
            onDelta(data.content_block.text);
          }
          break;
        case 'content_block_delta':
          if (data.delta?.type === 'text_delta' && data.delta.text) {
            content += data.delta.text;
            onDelta(data.delta.text);
          } else if (data.delta?.type === 'input_json_delta') {
            const b = blocks.get(data.index);
            if (b) b.json += data.delta.partial_json ?? '';
          }
          break;
        case 'message_delta':
          if (data.delta?.stop_reason) stop = data.delta.stop_reason;
          if (typeof data.usage?.output_tokens === 'number') outputTokens = data.usage.output_tokens;
          if (typeof data.usage?.input_tokens === 'number' && data.usage.input_tokens > 0)
            inputTokens = data.usage.input_tokens;
          break;
        case 'error':
          throw new LlmProviderError(`provider stream error: ${data.error?.message ?? 'unknown'}`);
        default:
          break;
      }
      if (data.type === 'message_stop') break;
    }
    const toolCalls = [...blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, b]) => ({ id: b.id, name: b.name, arguments: b.json || '{}' }));
    return { content, toolCalls, finishReason: finish(stop), usage: { inputTokens, outputTokens } };
  }

  async models(options: { signal?: AbortSignal }): Promise<LlmModel[]> {
    const res = (await this.http.json(
      `${this.base}/models`,
      { method: 'GET', headers: this.headers() },
      options.signal,
    )) as {
      data?: { id?: unknown; display_name?: unknown }[];
    };
    if (!Array.isArray(res.data)) throw new LlmProviderError('provider model list has no `data` array');
    return res.data
      .filter((m) => typeof m.id === 'string')
      .map((m) => ({ id: m.id as string, ...(typeof m.display_name === 'string' ? { name: m.display_name } : {}) }));
  }

  /** Anthropic's API has no embeddings endpoint. */
  async embed(): Promise<number[][]> {
    throw new LlmProviderError(
      'anthropic_native providers have no embeddings endpoint; use an OpenAI-compatible or Gemini provider',
    );
  }
}
