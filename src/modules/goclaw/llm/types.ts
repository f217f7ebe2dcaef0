/*
 * The provider-neutral shapes the run loop speaks; each adapter translates them to and from one wire format
 * (OpenAI chat completions, Anthropic Messages, Gemini generateContent).
 */

export interface LlmToolCall {
  /** The provider's call id (Gemini has none: the adapter makes one). */
  id: string;
  name: string;
  /** The arguments as a JSON object text. */
  arguments: string;
}

export type LlmMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: LlmToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export interface LlmToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface LlmRequest {
  model: string;
  messages: LlmMessage[];
  tools?: LlmToolSpec[];
  maxTokens?: number;
  temperature?: number;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
  /** USD as the provider reported it (OpenRouter's `usage.cost`); undefined when it reports none. */
  cost?: number;
}

export interface LlmResult {
  content: string;
  toolCalls: LlmToolCall[];
  /** stop | tool_calls | length | … as the provider said, normalised to OpenAI's words where they map. */
  finishReason: string;
  usage: LlmUsage;
}

export interface LlmModel {
  id: string;
  name?: string;
}

/** Streamed text as it arrives (the adapter calls it per provider chunk; nothing is buffered). */
export type OnDelta = (text: string) => void;

export interface LlmAdapter {
  /** One model call; streamed (SSE) when `onDelta` is given, else one JSON response. */
  complete(request: LlmRequest, options: { signal?: AbortSignal; onDelta?: OnDelta }): Promise<LlmResult>;
  /** The provider's model list. */
  models(options: { signal?: AbortSignal }): Promise<LlmModel[]>;
  /**
   * Embeds texts with `model`: one vector per text, in order (OpenAI-compatible `/embeddings`, Gemini
   * `batchEmbedContents`); an LlmProviderError where the wire format has no embeddings (Anthropic).
   */
  embed(model: string, texts: string[], options: { signal?: AbortSignal }): Promise<number[][]>;
}

/** Checks an embeddings answer: `count` vectors of one length, finite numbers only. */
export function checkEmbeddings(vectors: unknown[], count: number): number[][] {
  if (vectors.length !== count) {
    throw new LlmProviderError(`provider returned ${vectors.length} embeddings for ${count} inputs`);
  }
  const dims = Array.isArray(vectors[0]) ? vectors[0].length : 0;
  for (const v of vectors) {
    if (
      !Array.isArray(v) ||
      v.length === 0 ||
      v.length !== dims ||
      v.some((x) => typeof x !== 'number' || !Number.isFinite(x))
    ) {
      throw new LlmProviderError('provider returned an embedding that is not a list of numbers of one length');
    }
  }
  if (dims > 16_000) throw new LlmProviderError(`provider returned embeddings of ${dims} dimensions (at most 16000)`);
  return vectors as number[][];
}

/** The provider answered with an error status or an unreadable body (safe to show the caller). */
export class LlmProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** The provider's `Retry-After`, in seconds, when it sent one (rate limits). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'LlmProviderError';
  }
}

/** The system messages of a conversation as one prompt (Anthropic's `system`, Gemini's `systemInstruction`). */
export function systemPrompt(messages: LlmMessage[]): string {
  return messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
}

/**
 * Collects one wire format's turns: consecutive pieces of the same role go into one turn, as Anthropic and Gemini
 * require alternating roles (a tool result and the next user text share the user turn).
 */
export function turnCollector<T>(): { push(role: string, piece: T): void; turns: { role: string; pieces: T[] }[] } {
  const turns: { role: string; pieces: T[] }[] = [];
  return {
    turns,
    push(role, piece) {
      const last = turns.at(-1);
      if (last && last.role === role) last.pieces.push(piece);
      else turns.push({ role, pieces: [piece] });
    },
  };
}

/** A tool call's JSON arguments as an object (`{}` when they are empty, not JSON or not an object). */
export function parseArgs(text: string): unknown {
  try {
    const parsed = JSON.parse(text || '{}') as unknown;
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}
