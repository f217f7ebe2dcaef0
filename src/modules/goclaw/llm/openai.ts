import type { LlmHttp } from './http.ts';
import {
  checkEmbeddings,
  type LlmAdapter,
  type LlmMessage,
  type LlmModel,
  LlmProviderError,
  type LlmRequest,
  type LlmResult,
  type LlmToolCall,
  type OnDelta,
} from './types.ts';

/*
 * OpenAI chat completions (`POST {base}/chat/completions`, `GET {base}/models`), the format OpenAI, Groq,
 * DeepSeek, Mistral, xAI, Ollama and OpenRouter share. Streaming is SSE `data: {chunk}` lines ending
 * `data: [DONE]`, with `stream_options.include_usage` so the last chunk carries the provider's usage.
 */

interface ChatChoice {
  message?: { content?: string | null; tool_calls?: WireToolCall[] };
  delta?: { content?: string | null; tool_calls?: (WireToolCall & { index?: number })[] };
  finish_reason?: string | null;
}
interface WireToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}
interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  cost?: number;
}

export function toOpenAiMessages(messages: LlmMessage[]): unknown[] {
  return messages.map((m) => {
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
      return {
        role: 'assistant',
        content: m.content || null,
        tool_calls: m.toolCalls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: c.arguments },
        })),
      };
    }
    return { role: m.role, content: m.content };
  });
}

function usageOf(u: WireUsage | undefined) {
  return {
    inputTokens: u?.prompt_tokens ?? 0,
    outputTokens: u?.completion_tokens ?? 0,
    ...(typeof u?.cost === 'number' ? { cost: u.cost } : {}),
  };
}

export class OpenAiAdapter implements LlmAdapter {
  constructor(
    private readonly http: LlmHttp,
    private readonly base: string,
    private readonly apiKey: string | undefined,
  ) {}

  private headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  async complete(request: LlmRequest, options: { signal?: AbortSignal; onDelta?: OnDelta }): Promise<LlmResult> {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: toOpenAiMessages(request.messages),
      ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.tools && request.tools.length > 0
        ? {
            tools: request.tools.map((t) => ({
              type: 'function',
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
          }
        : {}),
    };
    const url = `${this.base}/chat/completions`;
    if (!options.onDelta) {
      const res = (await this.http.json(url, { method: 'POST', headers: this.headers(), body }, options.signal)) as {
        choices?: ChatChoice[];
        usage?: WireUsage;
      };
      const choice = res.choices?.[0];
      if (!choice?.message) throw new LlmProviderError('provider answered without a choice');
      const toolCalls = (choice.message.tool_calls ?? []).map((c, i) => ({
        id: c.id ?? `call_${i}`,
        name: c.function?.name ?? '',
        arguments: c.function?.arguments ?? '{}',
      }));
      return {
        content: choice.message.content ?? '',
        toolCalls,
        finishReason: choice.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
        usage: usageOf(res.usage),
      };
    }
    const onDelta = options.onDelta;
    let content = '';
    let finishReason = '';
    let usage = usageOf(undefined);
    const calls = new Map<number, LlmToolCall>();
    for await (const ev of this.http.events(
      url,
      { headers: this.headers(), body: { ...body, stream: true, stream_options: { include_usage: true } } },
      options.signal,
    )) {
      if (ev.data === '[DONE]') break;
      let chunk: { choices?: ChatChoice[]; usage?: WireUsage | null; error?: { message?: string } };
      try {
        chunk = JSON.parse(ev.data);
      } catch {
        throw new LlmProviderError('provider sent a stream chunk that is not JSON');
      }
      if (chunk.error) throw new LlmProviderError(`provider stream error: ${chunk.error.message ?? 'unknown'}`);
      if (chunk.usage) usage = usageOf(chunk.usage);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const text = choice.delta?.content;
      if (text) {
        content += text;
        onDelta(text);
      }
      for (const [i, c] of (choice.delta?.tool_calls ?? []).entries()) {
        const index = c.index ?? i;
        const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
        if (c.id) call.id = c.id;
        if (c.function?.name) call.name += c.function.name;
        if (c.function?.arguments) call.arguments += c.function.arguments;
        calls.set(index, call);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, c]) => ({ ...c, id: c.id || `call_${i}`, arguments: c.arguments || '{}' }));
    return { content, toolCalls, finishReason: finishReason || (toolCalls.length ? 'tool_calls' : 'stop'), usage };
  }

  async models(options: { signal?: AbortSignal }): Promise<LlmModel[]> {
    const res = (await this.http.json(
      `${this.base}/models`,
      { method: 'GET', headers: this.headers() },
      options.signal,
    )) as {
      data?: { id?: unknown; name?: unknown }[];
      models?: { name?: unknown; model?: unknown }[];
    };
    if (Array.isArray(res.data)) {
      return res.data
        .filter((m) => typeof m.id === 'string')
        .map((m) => ({ id: m.id as string, ...(typeof m.name === 'string' ? { name: m.name } : {}) }));
    }
    throw new LlmProviderError('provider model list has no `data` array');
  }

  /** `POST {base}/embeddings {model, input}` → `data[].embedding`, ordered by `index`. */
  async embed(model: string, texts: string[], options: { signal?: AbortSignal }): Promise<number[][]> {
    const res = (await this.http.json(
      `${this.base}/embeddings`,
      { method: 'POST', headers: this.headers(), body: { model, input: texts, encoding_format: 'float' } },
      options.signal,
    )) as { data?: { index?: unknown; embedding?: unknown }[] };
    if (!Array.isArray(res.data)) throw new LlmProviderError('provider embeddings answer has no `data` array');
    const sorted = [...res.data].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
    return checkEmbeddings(
      sorted.map((d) => d.embedding),
      texts.length,
    );
  }
}
