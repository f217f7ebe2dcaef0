import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A loopback stand-in for LLM providers, speaking three wire formats on one port:
 *   /openai/v1      OpenAI chat completions (POST /chat/completions, JSON or SSE; GET /models)
 *   /anthropic/v1   Anthropic Messages (POST /messages, JSON or SSE events; GET /models)
 *   /gemini/v1beta  Gemini (POST /models/{m}:generateContent and :streamGenerateContent?alt=sse; GET /models)
 * Turns are scripted (text, tool calls, usage, an error status, a gate that holds a stream after its first
 * chunk); with no script it answers `echo: <last user text>`. Every request is recorded for assertions.
 * Embeddings (OpenAI `POST /embeddings`, Gemini `POST /models/{m}:batchEmbedContents`) are deterministic hashed
 * bag-of-words vectors (`standinEmbedding`): texts sharing words point the same way, so similar texts rank close.
 */

export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface ScriptedTurn {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  usage?: { input: number; output: number };
  /** Answer this status with a provider-shaped error body instead. */
  status?: number;
  error?: string;
  /** With `status`: a `Retry-After` header (seconds) on the error answer. */
  retryAfter?: number;
  /** Streamed turns: after the first text chunk, wait for this before sending the rest. */
  gate?: Promise<void>;
}

export interface RecordedRequest {
  format: 'openai' | 'anthropic' | 'gemini';
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface LlmStandin {
  baseUrl: string;
  openaiBase: string;
  anthropicBase: string;
  geminiBase: string;
  /** Queues turns, answered in order by whichever format asks next. */
  script(...turns: ScriptedTurn[]): void;
  requests: RecordedRequest[];
  /** When set, requests must carry this key (each format's own header), else 401. */
  apiKey: string | undefined;
  models: string[];
  close(): Promise<void>;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

/** Dimensions of the stand-in's embeddings. */
export const standinEmbeddingDims = 256;

const fnv1a = (s: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};

/**
 * The stand-in's embedding of a text: a hashed bag of features — each lowercase word (letters and digits) and
 * the character trigrams of `#word#` — each feature hashed (FNV-1a) into one of 256 buckets, counted, then scaled
 * to unit length. Deterministic; texts sharing words or word stems ("deploy", "deployment") point the same way,
 * which full text with the 'simple' configuration (no stemming) does not see. A text without words is zero.
 */
export function standinEmbedding(text: string): number[] {
  const v = new Array<number>(standinEmbeddingDims).fill(0);
  const add = (feature: string) => {
    const at = fnv1a(feature) % standinEmbeddingDims;
    v[at] = (v[at] ?? 0) + 1;
  };
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    add(word);
    const marked = `#${word}#`;
    for (let i = 0; i + 3 <= marked.length; i++) add(marked.slice(i, i + 3));
  }
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}

/** Splits text into the pieces a stream sends (words with their following space). */
const pieces = (text: string) => text.match(/\S+\s*|\s+/g) ?? [];

function lastUserText(format: RecordedRequest['format'], body: any): string {
  if (format === 'gemini') {
    const turn = [...(body.contents ?? [])].reverse().find((c: any) => c.role === 'user');
    return (turn?.parts ?? []).map((p: any) => p.text ?? '').join('');
  }
  const turn = [...(body.messages ?? [])].reverse().find((m: any) => m.role === 'user');
  if (!turn) return '';
  if (typeof turn.content === 'string') return turn.content;
  return (turn.content ?? []).map((b: any) => b.text ?? '').join('');
}

export async function startLlmStandin(): Promise<LlmStandin> {
  const queue: ScriptedTurn[] = [];
  const requests: RecordedRequest[] = [];
  const state: { apiKey: string | undefined; models: string[] } = {
    apiKey: undefined,
    models: ['standin-small', 'standin-large'],
  };

  const nextTurn = (
    format: RecordedRequest['format'],
    body: any,
  ): Required<Pick<ScriptedTurn, 'text' | 'toolCalls'>> &
    ScriptedTurn & { usage: { input: number; output: number } } => {
    const scripted = queue.shift();
    const text = scripted?.text ?? (scripted?.toolCalls ? '' : `echo: ${lastUserText(format, body)}`);
    const toolCalls = scripted?.toolCalls ?? [];
    const usage = scripted?.usage ?? {
      input: words(JSON.stringify(body.messages ?? body.contents ?? '')),
      output: words(text),
    };
    return { ...scripted, text, toolCalls, usage };
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  const sse = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
  };
  const write = (res: ServerResponse, data: unknown, event?: string) =>
    new Promise<void>((resolve) => {
      res.write(
        `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
        () => setImmediate(resolve),
      );
    });

  async function openai(req: IncomingMessage, res: ServerResponse, path: string, body: any) {
    if (state.apiKey && req.headers.authorization !== `Bearer ${state.apiKey}`) {
      return send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
    }
    if (req.method === 'GET' && path === '/models') {
      return send(res, 200, {
        object: 'list',
        data: state.models.map((id) => ({ id, object: 'model', owned_by: 'standin' })),
      });
    }
    if (req.method === 'POST' && path === '/embeddings') {
      const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
      if (typeof body.model !== 'string' || inputs.some((x) => typeof x !== 'string')) {
        return send(res, 400, {
          error: { message: 'model and input (strings) are required', type: 'invalid_request_error' },
        });
      }
      return send(res, 200, {
        object: 'list',
        model: body.model,
        data: (inputs as string[]).map((text, index) => ({
          object: 'embedding',
          index,
          embedding: standinEmbedding(text),
        })),
        usage: {
          prompt_tokens: words((inputs as string[]).join(' ')),
          total_tokens: words((inputs as string[]).join(' ')),
        },
      });
    }
    if (req.method !== 'POST' || path !== '/chat/completions')
      return send(res, 404, { error: { message: 'not found' } });
    const turn = nextTurn('openai', body);
    if (turn.status)
      return send(
        res,
        turn.status,
        { error: { message: turn.error ?? 'scripted failure', type: 'server_error' } },
        turn.retryAfter !== undefined ? { 'retry-after': String(turn.retryAfter) } : {},
      );
    const id = `chatcmpl-standin-${requests.length}`;
    const finish = turn.toolCalls.length ? 'tool_calls' : 'stop';
    const usage = {
      prompt_tokens: turn.usage.input,
      completion_tokens: turn.usage.output,
      total_tokens: turn.usage.input + turn.usage.output,
    };
    const calls = turn.toolCalls.map((c, i) => ({
      id: `call_standin_${requests.length}_${i}`,
      type: 'function',
      function: { name: c.name, arguments: JSON.stringify(c.arguments) },
    }));
    if (!body.stream) {
      return send(res, 200, {
        id,
        object: 'chat.completion',
        created: 1,
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: turn.text || null, ...(calls.length ? { tool_calls: calls } : {}) },
            finish_reason: finish,
          },
        ],
        usage,
      });
    }
    sse(res);
    const chunk = (delta: unknown, finishReason: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created: 1,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    await write(res, chunk({ role: 'assistant', content: '' }, null));
    let first = true;
    for (const piece of pieces(turn.text)) {
      await write(res, chunk({ content: piece }, null));
      if (first && turn.gate) await turn.gate;
      first = false;
    }
    for (const [i, c] of calls.entries()) {
      const args = c.function.arguments;
      const half = Math.floor(args.length / 2);
      await write(
        res,
        chunk(
          {
            tool_calls: [
              {
                index: i,
                id: c.id,
                type: 'function',
                function: { name: c.function.name, arguments: args.slice(0, half) },
              },
            ],
          },
          null,
        ),
      );
      await write(res, chunk({ tool_calls: [{ index: i, function: { arguments: args.slice(half) } }] }, null));
    }
    await write(res, chunk({}, finish));
    if (body.stream_options?.include_usage)
      await write(res, { id, object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage });
    await write(res, '[DONE]');
    res.end();
  }

  async function anthropic(req: IncomingMessage, res: ServerResponse, path: string, body: any) {
    if (state.apiKey && req.headers['x-api-key'] !== state.apiKey) {
      return send(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    }
    if (req.method === 'GET' && path === '/models') {
      return send(res, 200, {
        data: state.models.map((id) => ({ id, type: 'model', display_name: id.toUpperCase() })),
        has_more: false,
      });
    }
    if (req.method !== 'POST' || path !== '/messages')
      return send(res, 404, { type: 'error', error: { message: 'not found' } });
    const turn = nextTurn('anthropic', body);
    if (turn.status)
      return send(res, turn.status, {
        type: 'error',
        error: { type: 'api_error', message: turn.error ?? 'scripted failure' },
      });
    const stop = turn.toolCalls.length ? 'tool_use' : 'end_turn';
    const uses = turn.toolCalls.map((c, i) => ({
      type: 'tool_use',
      id: `toolu_standin_${requests.length}_${i}`,
      name: c.name,
      input: c.arguments,
    }));
    if (!body.stream) {
      return send(res, 200, {
        id: `msg_${requests.length}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [...(turn.text ? [{ type: 'text', text: turn.text }] : []), ...uses],
        stop_reason: stop,
        usage: { input_tokens: turn.usage.input, output_tokens: turn.usage.output },
      });
    }
    sse(res);
    await write(
      res,
      {
        type: 'message_start',
        message: {
          id: `msg_${requests.length}`,
          type: 'message',
          role: 'assistant',
          content: [],
          model: body.model,
          usage: { input_tokens: turn.usage.input, output_tokens: 1 },
        },
      },
      'message_start',
    );
    let index = 0;
    if (turn.text) {
      await write(
        res,
        { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
        'content_block_start',
      );
      let first = true;
      for (const piece of pieces(turn.text)) {
        await write(
          res,
          { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } },
          'content_block_delta',
        );
        if (first && turn.gate) await turn.gate;
        first = false;
      }
      await write(res, { type: 'content_block_stop', index }, 'content_block_stop');
      index++;
    }
    for (const u of uses) {
      await write(
        res,
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: u.id, name: u.name, input: {} } },
        'content_block_start',
      );
      const json = JSON.stringify(u.input);
      const half = Math.floor(json.length / 2);
      await write(
        res,
        { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } },
        'content_block_delta',
      );
      await write(
        res,
        { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(half) } },
        'content_block_delta',
      );
      await write(res, { type: 'content_block_stop', index }, 'content_block_stop');
      index++;
    }
    await write(
      res,
      { type: 'message_delta', delta: { stop_reason: stop }, usage: { output_tokens: turn.usage.output } },
      'message_delta',
    );
    await write(res, { type: 'message_stop' }, 'message_stop');
    res.end();
  }

  async function gemini(req: IncomingMessage, res: ServerResponse, path: string, body: any) {
    if (state.apiKey && req.headers['x-goog-api-key'] !== state.apiKey) {
      return send(res, 401, { error: { code: 401, message: 'API key not valid', status: 'UNAUTHENTICATED' } });
    }
    if (req.method === 'GET' && path === '/models') {
      return send(res, 200, {
        models: state.models.map((id) => ({ name: `models/${id}`, displayName: id.toUpperCase() })),
      });
    }
    if (req.method === 'POST' && /^\/models\/[^/]+:batchEmbedContents$/.test(path)) {
      const requests: any[] = Array.isArray(body.requests) ? body.requests : [];
      return send(res, 200, {
        embeddings: requests.map((r) => ({
          values: standinEmbedding((r?.content?.parts ?? []).map((p: any) => p?.text ?? '').join(' ')),
        })),
      });
    }
    const match = /^\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path);
    if (req.method !== 'POST' || !match) return send(res, 404, { error: { code: 404, message: 'not found' } });
    const turn = nextTurn('gemini', body);
    if (turn.status)
      return send(res, turn.status, { error: { code: turn.status, message: turn.error ?? 'scripted failure' } });
    const usageMetadata = {
      promptTokenCount: turn.usage.input,
      candidatesTokenCount: turn.usage.output,
      totalTokenCount: turn.usage.input + turn.usage.output,
    };
    const callParts = turn.toolCalls.map((c) => ({ functionCall: { name: c.name, args: c.arguments } }));
    if (match[2] === 'generateContent') {
      return send(res, 200, {
        candidates: [
          {
            content: { role: 'model', parts: [...(turn.text ? [{ text: turn.text }] : []), ...callParts] },
            finishReason: 'STOP',
          },
        ],
        usageMetadata,
      });
    }
    sse(res);
    const parts = pieces(turn.text);
    let first = true;
    for (const [i, piece] of parts.entries()) {
      const last = i === parts.length - 1 && callParts.length === 0;
      await write(res, {
        candidates: [
          { content: { role: 'model', parts: [{ text: piece }] }, ...(last ? { finishReason: 'STOP' } : {}) },
        ],
        ...(last ? { usageMetadata } : {}),
      });
      if (first && turn.gate) await turn.gate;
      first = false;
    }
    if (callParts.length > 0 || parts.length === 0) {
      await write(res, {
        candidates: [{ content: { role: 'model', parts: callParts }, finishReason: 'STOP' }],
        usageMetadata,
      });
    }
    res.end();
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any = {};
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        return send(res, 400, { error: { message: 'body is not JSON' } });
      }
      const route = /^\/(openai)\/v1(\/.*)$|^\/(anthropic)\/v1(\/.*)$|^\/(gemini)\/v1beta(\/.*)$/.exec(url.pathname);
      if (!route) return send(res, 404, { error: { message: 'not found' } });
      const format = (route[1] ?? route[3] ?? route[5]) as RecordedRequest['format'];
      const path = (route[2] ?? route[4] ?? route[6]) as string;
      requests.push({ format, method: req.method ?? 'GET', path, headers: req.headers, body });
      const handler = format === 'openai' ? openai : format === 'anthropic' ? anthropic : gemini;
      handler(req, res, path, body).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    openaiBase: `${baseUrl}/openai/v1`,
    anthropicBase: `${baseUrl}/anthropic/v1`,
    geminiBase: `${baseUrl}/gemini/v1beta`,
    script: (...turns) => queue.push(...turns),
    requests,
    get apiKey() {
      return state.apiKey;
    },
    set apiKey(k) {
      state.apiKey = k;
    },
    get models() {
      return state.models;
    },
    set models(m) {
      state.models = m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
