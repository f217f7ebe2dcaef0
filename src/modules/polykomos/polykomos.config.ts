import type { EnvReader } from '../../core/config.ts';

/** Polykomos (docs/polykomos.md); its engine servers are the `databases` module's (docs/databases.md). */
export interface PolykomosConfig {
  /** The region code both servers are advertised under. */
  region: string;
  /** Natural-language queries: the GoClaw provider (by name) and model that write the SQL; unset: not offered. */
  nlq: {
    provider: string | undefined;
    model: string | undefined;
    /** Statement timeout of a generated statement on the caller's database, milliseconds. */
    statementTimeoutMs: number;
    /** Most rows one response returns (`maxRows`); more set `truncated`. */
    maxRows: number;
    /** Deadline of the model call, milliseconds. */
    llmTimeoutMs: number;
  };
}

export function parsePolykomosConfig(env: EnvReader): PolykomosConfig {
  const { str } = env;
  const region = str('ATRIUM_POLYKOMOS_REGION') ?? 'local-1';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) {
    env.problem(`ATRIUM_POLYKOMOS_REGION must be a lowercase region code (got "${region}")`);
  }
  const provider = str('ATRIUM_POLYKOMOS_NLQ_PROVIDER') || undefined;
  const model = str('ATRIUM_POLYKOMOS_NLQ_MODEL') || undefined;
  if (provider && !model) env.problem('ATRIUM_POLYKOMOS_NLQ_PROVIDER is set but ATRIUM_POLYKOMOS_NLQ_MODEL is not');
  if (model && !provider) env.problem('ATRIUM_POLYKOMOS_NLQ_MODEL is set but ATRIUM_POLYKOMOS_NLQ_PROVIDER is not');
  return {
    region,
    nlq: {
      provider,
      model,
      statementTimeoutMs: env.int('ATRIUM_POLYKOMOS_NLQ_STATEMENT_TIMEOUT_MS', 10_000, 100, 300_000),
      maxRows: env.int('ATRIUM_POLYKOMOS_NLQ_MAX_ROWS', 500, 1, 10_000),
      llmTimeoutMs: env.int('ATRIUM_POLYKOMOS_NLQ_LLM_TIMEOUT_MS', 60_000, 1_000, 600_000),
    },
  };
}
