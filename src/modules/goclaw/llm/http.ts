import type { Agent } from 'undici';
import { request } from 'undici';
import {
  OutboundBlockedError,
  type OutboundPolicy,
  pinnedAgent,
  validateOutboundUrl,
} from '../../../core/net/outbound.ts';
import { LlmProviderError } from './types.ts';

/*
 * Provider HTTP through the core outbound guard: every URL is validated (DNS resolved here, non-public addresses
 * refused unless the policy allows them) and the connection pinned to the validated address; redirects are never
 * followed. Unlike `outboundRequest`, the body is handed over as it arrives (SSE), with an idle deadline between
 * chunks instead of a size cap on the whole stream. Pinned agents are kept per validated address so keep-alive
 * connections are reused; a target that resolves elsewhere gets its own agent.
 */

export interface LlmHttpOptions {
  policy: OutboundPolicy;
  /** Deadline for the response headers and between body chunks, milliseconds. */
  idleTimeoutMs: number;
  /** Largest non-streamed (JSON) response body, bytes. */
  maxJsonBytes: number;
}

export interface StreamedResponse {
  status: number;
  /** The response headers (lower-cased names). */
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  /** Reads the whole body (bounded by maxJsonBytes) as text. */
  text(): Promise<string>;
}

export class LlmHttp {
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly options: LlmHttpOptions) {}

  async send(
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    signal?: AbortSignal,
  ): Promise<StreamedResponse> {
    const { policy, idleTimeoutMs, maxJsonBytes } = this.options;
    let target: Awaited<ReturnType<typeof validateOutboundUrl>>;
    try {
      target = await validateOutboundUrl(url, policy);
    } catch (err) {
      if (err instanceof OutboundBlockedError) throw new LlmProviderError(`provider URL refused: ${err.reason}`);
      throw err;
    }
    const key = `${target.url.protocol}//${target.host}:${target.url.port}|${target.address}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.agents.size >= 64) {
        const [oldest, old] = this.agents.entries().next().value as [string, Agent];
        this.agents.delete(oldest);
        old.close().catch(() => {});
      }
      agent = pinnedAgent(target, { ...policy, timeoutMs: idleTimeoutMs });
      this.agents.set(key, agent);
    }
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(target.url, {
        method: init.method,
        headers: init.headers,
        body: init.body,
        dispatcher: agent,
        signal,
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new LlmProviderError(`provider unreachable: ${(err as Error).message}`.slice(0, 300));
    }
    const body = res.body as AsyncIterable<Buffer> & { destroy(): void };
    return {
      status: res.statusCode,
      headers: res.headers,
      body,
      text: async () => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of body) {
          size += chunk.length;
          if (size > maxJsonBytes) {
            body.destroy();
            throw new LlmProviderError(`provider response larger than ${maxJsonBytes} bytes`);
          }
          chunks.push(chunk);
        }
        return Buffer.concat(chunks).toString('utf8');
      },
    };
  }

  /** POSTs JSON and parses a JSON answer; a non-2xx status is an LlmProviderError with the provider's message. */
  async json(
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: unknown },
    signal?: AbortSignal,
  ): Promise<unknown> {
    const res = await this.send(
      url,
      {
        method: init.method,
        headers: {
          accept: 'application/json',
          ...init.headers,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      },
      signal,
    );
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw statusError(res.status, text, retryAfter(res.headers));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new LlmProviderError(`provider answered ${res.status} with a body that is not JSON`);
    }
  }

  /** POSTs JSON and yields the answer's server-sent events as they arrive. */
  async *events(
    url: string,
    init: { headers: Record<string, string>; body: unknown },
    signal?: AbortSignal,
  ): AsyncGenerator<SseEvent> {
    const res = await this.send(
      url,
      {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/json', ...init.headers },
        body: JSON.stringify(init.body),
      },
      signal,
    );
    if (res.status < 200 || res.status > 299) {
      throw statusError(res.status, await res.text(), retryAfter(res.headers));
    }
    yield* parseSse(res.body);
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => {})));
  }
}

/**
 * `Retry-After` in seconds (delta-seconds or an HTTP date, never negative), or undefined when absent or unreadable.
 */
export function retryAfter(headers: Record<string, string | string[] | undefined>): number | undefined {
  const raw = headers['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return undefined;
  if (/^\d{1,9}$/.test(value)) return Number(value);
  // An HTTP date names its weekday or month; anything else (negative or fractional numbers) is unreadable.
  if (!/[A-Za-z]/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The provider's own error message where its body carries one (OpenAI, Anthropic and Gemini shapes). */
export function statusError(status: number, text: string, retryAfterSeconds?: number): LlmProviderError {
  let message = text.slice(0, 200);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const inner = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message;
    if (typeof inner === 'string') message = inner;
    else if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  return new LlmProviderError(`provider answered ${status}: ${message}`.slice(0, 300), status, retryAfterSeconds);
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Server-sent events from a byte stream (WHATWG rules: `event:`/`data:` lines, blank line ends an event). */
export async function* parseSse(body: AsyncIterable<Buffer>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const flushLine = function* (line: string): Generator<SseEvent> {
    if (line === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
      event = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let at = buffer.search(/\r\n|\r|\n/);
    while (at !== -1) {
      const line = buffer.slice(0, at);
      const width = buffer.startsWith('\r\n', at) ? 2 : 1;
      // A lone \r at the end of a chunk may be half of \r\n: wait for the next chunk.
      if (buffer[at] === '\r' && width === 1 && at === buffer.length - 1) break;
      buffer = buffer.slice(at + width);
      yield* flushLine(line);
      at = buffer.search(/\r\n|\r|\n/);
    }
  }
  buffer += decoder.decode();
  if (buffer.length > 0) yield* flushLine(buffer);
  yield* flushLine('');
}
