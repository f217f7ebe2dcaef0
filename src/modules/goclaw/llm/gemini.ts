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
  parseArgs,
  systemPrompt,
  turnCollector,
} from './types.ts';

/*
 * Gemini generateContent (`POST {base}/models/{model}:generateContent`, streamed
 * `:streamGenerateContent?alt=sse`, `GET {base}/models`; base default
 * `https://generativelanguage.googleapis.com/v1beta`, key in `x-goog-api-key`). Turns are `user`/`model` with
 * parts; tool calls are `functionCall` parts (no ids: the adapter numbers them) and results `functionResponse`.
 */

type Part =
  | { text: string }
  | { functionCall: { name: string; args: unknown } }
  | { functionResponse: { name: string; response: unknown } };

interface GenerateResponse {
  candidates?: { content?: { parts?: Part[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number };
  error?: { message?: string };
}

export function toGemini(messages: LlmMessage[]) {
  const system = systemPrompt(messages);
  const { push, turns } = turnCollector<Part>();
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      let response: unknown;
      try {
        response = JSON.parse(m.content);
      } catch {
        response = m.content;
      }
      push('user', {
        functionResponse: {
          name: m.name,
          response:
            response !== null && typeof response === 'object' && !Array.isArray(response)
              ? response
              : { result: response },
        },
      });
    } else if (m.role === 'assistant') {
      if (m.content) push('model', { text: m.content });
      for (const c of m.toolCalls ?? [])
        push('model', { functionCall: { name: c.name, args: parseArgs(c.arguments) } });
    } else push('user', { text: m.content });
  }
  return { system, contents: turns.map((t) => ({ role: t.role, parts: t.pieces })) };
}

const finish = (reason: string | undefined, calls: number) =>
  calls > 0
    ? 'tool_calls'
    : reason === 'MAX_TOKENS'
      ? 'length'
      : reason === undefined || reason === 'STOP'
        ? 'stop'
        : reason.toLowerCase();

export class GeminiAdapter implements LlmAdapter {
  constructor(
    private readonly http: LlmHttp,
    private readonly base: string,
    private readonly apiKey: string | undefined,
  ) {}

  private headers(): Record<string, string> {
    return this.apiKey ? { 'x-goog-api-key': this.apiKey } : {};
  }

  async complete(request: LlmRequest, options: { signal?: AbortSignal; onDelta?: OnDelta }): Promise<LlmResult> {
    const { system, contents } = toGemini(request.messages);
    const body: Record<string, unknown> = {
      contents,
      ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
      ...(request.tools && request.tools.length > 0
        ? {
            tools: [
              {
                functionDeclarations: request.tools.map((t) => ({
                  name: t.name,
                  description: t.description,
                  parameters: t.parameters,
                })),
              },
            ],
          }
        : {}),
      ...(request.maxTokens || request.temperature !== undefined
        ? {
            generationConfig: {
              ...(request.maxTokens ? { maxOutputTokens: request.maxTokens } : {}),
              ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            },
          }
        : {}),
    };
    const model = encodeURIComponent(request.model.replace(/^models\//, ''));
    let content = '';
    let reason: string | undefined;
    let inputTokens = 0;
    let outputTokens = 0;
    const toolCalls: LlmToolCall[] = [];
    const take = (res: GenerateResponse, onDelta?: OnDelta) => {
      if (res.error) throw new LlmProviderError(`provider error: ${res.error.message ?? 'unknown'}`);
      const candidate = res.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        if ('text' in part && part.text) {
          content += part.text;
          onDelta?.(part.text);
        } else if ('functionCall' in part) {
          toolCalls.push({
            id: `call_${toolCalls.length}`,
            name: part.functionCall.name,
            arguments: JSON.stringify(part.functionCall.args ?? {}),
          });
        }
      }
      if (candidate?.finishReason) reason = candidate.finishReason;
      if (res.usageMetadata) {
        inputTokens = res.usageMetadata.promptTokenCount ?? inputTokens;
        outputTokens = res.usageMetadata.candidatesTokenCount ?? outputTokens;
      }
    };
    if (!options.onDelta) {
      const res = (await this.http.json(
        `${this.base}/models/${model}:generateContent`,
        { method: 'POST', headers: this.headers(), body },
        options.signal,
      )) as GenerateResponse;
      if (!Array.isArray(res.candidates)) throw new LlmProviderError('provider answered without candidates');
      take(res);
    } else {
      for await (const ev of this.http.events(
        `${this.base}/models/${model}:streamGenerateContent?alt=sse`,
        { headers: this.headers(), body },
        options.signal,
      )) {
        let chunk: GenerateResponse;
        try {
          chunk = JSON.parse(ev.data);
        } catch {
          throw new LlmProviderError('provider sent a stream chunk that is not JSON');
        }
        take(chunk, options.onDelta);
      }
    }
    return { content, toolCalls, finishReason: finish(reason, toolCalls.length), usage: { inputTokens, outputTokens } };
  }

  async models(options: { signal?: AbortSignal }): Promise<LlmModel[]> {
    const res = (await this.http.json(
      `${this.base}/models`,
      { method: 'GET', headers: this.headers() },
      options.signal,
    )) as {
      models?: { name?: unknown; displayName?: unknown }[];
    };
    if (!Array.isArray(res.models)) throw new LlmProviderError('provider model list has no `models` array');
    return res.models
      .filter((m) => typeof m.name === 'string')
      .map((m) => ({
        id: (m.name as string).replace(/^models\//, ''),
        ...(typeof m.displayName === 'string' ? { name: m.displayName } : {}),
      }));
  }

  /** `POST {base}/models/{model}:batchEmbedContents {requests: [{model, content}]}` → `embeddings[].values`. */
  async embed(model: string, texts: string[], options: { signal?: AbortSignal }): Promise<number[][]> {
    const name = model.startsWith('models/') ? model : `models/${model}`;
    const res = (await this.http.json(
      `${this.base}/${name.split('/').map(encodeURIComponent).join('/')}:batchEmbedContents`,
      {
        method: 'POST',
        headers: this.headers(),
        body: { requests: texts.map((text) => ({ model: name, content: { parts: [{ text }] } })) },
      },
      options.signal,
    )) as { embeddings?: { values?: unknown }[] };
    if (!Array.isArray(res.embeddings)) throw new LlmProviderError('provider answer has no `embeddings` array');
    return checkEmbeddings(
      res.embeddings.map((e) => e.values),
      texts.length,
    );
  }
}
