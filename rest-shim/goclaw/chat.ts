import { Readable } from 'node:stream';
import { randomHex } from '../../src/core/auth/secrets.ts';
import { InvalidInputError } from '../../src/core/errors.ts';
import type { ChatMessage } from '../../src/modules/goclaw/goclaw.service.ts';
import { GoClawBusyError, type RunOutcome } from '../../src/modules/goclaw/runs.service.ts';
import { directOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy, RestResponse } from '../engine/types.ts';
import { headerValue } from './answer.ts';

/*
 * POST /v1/chat/completions, OpenAI's wire format over one agent run (docs/goclaw.md "Chat completions"). JSON:
 * the run's outcome as a `chat.completion`. SSE: a first `{role: "assistant"}` delta, then one chunk per provider
 * delta as it arrives (nothing is buffered), a final `finish_reason: "stop"` chunk (plus a usage chunk when
 * `stream_options.include_usage`), then `data: [DONE]`; a failure mid-stream is an `{error}` chunk before
 * `[DONE]`. A client that goes away aborts the run (trace status `cancelled`). Errors on this path use OpenAI's
 * `{error: {message, type}}` (the surface's error body for this operation).
 */

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  user?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

const bad = (message: string) => new InvalidInputError(message);

function messagesOf(body: ChatBody): ChatMessage[] {
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('messages must be a non-empty array');
  return body.messages.map((m: unknown, i) => {
    const item = m as { role?: unknown; content?: unknown };
    if (item === null || typeof item !== 'object') throw bad(`messages[${i}] must be an object`);
    if (item.role !== 'system' && item.role !== 'user' && item.role !== 'assistant') {
      throw bad(`messages[${i}].role must be system, user or assistant`);
    }
    if (typeof item.content !== 'string') throw bad(`messages[${i}].content must be a string`);
    return { role: item.role, content: item.content };
  });
}

const usageBody = (o: RunOutcome) => ({
  prompt_tokens: o.usage.promptTokens,
  completion_tokens: o.usage.completionTokens,
  total_tokens: o.usage.totalTokens,
});

const chatCompletions = directOperation({
  reason: 'answers an SSE stream (text/event-stream) when stream is true, forwarding provider deltas as they arrive',
  handle: async (req, services): Promise<RestResponse> => {
    const body = (req.body ?? {}) as ChatBody;
    if (typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
    if (body.model !== undefined && typeof body.model !== 'string') throw bad('model must be a string');
    if (body.user !== undefined && typeof body.user !== 'string') throw bad('user must be a string');
    const stream = body.stream === true;
    const started = await services.goclaw
      .chat(req.principal, {
        model: (body.model as string | undefined) ?? null,
        messages: messagesOf(body),
        stream,
        userId: (body.user as string | undefined) ?? headerValue(req.headers['x-goclaw-user-id']) ?? null,
        agentHeader:
          headerValue(req.headers['x-goclaw-agent-id']) ?? headerValue(req.headers['x-goclaw-agent']) ?? null,
      })
      .catch((err: unknown) => {
        if (!(err instanceof GoClawBusyError)) throw err;
        // Too many runs in flight: OpenAI's rate-limit error, with Retry-After (a slot frees when any run ends).
        return {
          status: 429,
          headers: { 'retry-after': '1' },
          body: { error: { message: err.message, type: 'rate_limit_error' } },
        };
      });
    if ('status' in started) return started;
    const { run, model } = started;
    req.signal?.addEventListener('abort', () => run.abort('client disconnected'), { once: true });
    const id = `chatcmpl-${randomHex(4)}`;
    const created = Math.floor(Date.now() / 1000);
    if (!stream) {
      const outcome = await run.outcome;
      if (outcome.status !== 'completed') {
        return {
          status: 502,
          body: {
            error: { message: outcome.error ?? 'the run did not complete', type: 'api_error', run_id: outcome.runId },
          },
        };
      }
      return {
        status: 200,
        headers: { 'x-goclaw-run-id': outcome.runId },
        body: {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: outcome.content }, finish_reason: 'stop' }],
          usage: usageBody(outcome),
        },
      };
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const out = new Readable({ read() {} });
    const frame = (value: unknown) => out.push(`data: ${JSON.stringify(value)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      frame({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    out.on('close', () => run.abort('client disconnected'));
    void (async () => {
      chunk({ role: 'assistant', content: '' }, null);
      for await (const ev of run.follow(0)) {
        if (out.destroyed) return;
        if (ev.type === 'chunk') chunk({ content: ev.payload.content }, null);
        else if (ev.type === 'run.completed') {
          chunk({}, 'stop');
          if (includeUsage) {
            const outcome = await run.outcome;
            frame({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageBody(outcome) });
          }
        } else if (ev.type === 'run.failed' || ev.type === 'run.cancelled') {
          frame({ error: { message: String(ev.payload.error ?? 'the run failed'), type: 'api_error' } });
        }
      }
      out.push('data: [DONE]\n\n');
      out.push(null);
    })().catch((err: unknown) => out.destroy(err as Error));
    return {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        'x-goclaw-run-id': run.runId,
      },
      body: out,
    };
  },
});

/** The OpenAI-compatible chat completions endpoint. */
export const goclawChatOperations = operationsFor<OperationPolicy>().group('chat', 'test/goclaw/completions.test.ts', {
  post_v1_chat_completions: chatCompletions,
});

/** OpenAI's error type for a status (what OpenAI SDKs read). */
export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}
