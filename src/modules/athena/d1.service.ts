import type { Principal } from '../../core/auth/principal.ts';
import { AuthorizationError } from '../../core/errors.ts';
import type { OutboundPolicy } from '../../core/net/outbound.ts';
import { requireClientRight } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import { AthenaError, AthenaInvalidInputError, UnknownClientError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';
import { type D1MigrationOutcome, parseD1MigrationRequest, runD1Migration } from './sql/d1.ts';
import { D1Client, type D1Executor } from './sql/d1-client.ts';
import { D1RequestError, SqlRejectedError, SqlSyntaxError } from './sql/errors.ts';

/*
 * `/gateway/sql/d1/migrate` (notes G1; docs/athena-sql.md): PostgreSQL → Cloudflare D1 conversion, previewed (the
 * default, no client needed) or applied through D1's HTTP API. Where it applies: the D1-capable client the request
 * names — a client whose catalog metadata carries `d1_database_id` (set by the admin). The body's `dbName` is kept
 * as the caller's label only: a key holder cannot aim the server's D1 token at another database of the account.
 * The account and token are the server's (ATRIUM_ATHENA_D1_*); without them execution is a 503, never a pretend
 * success.
 */

/** How a migration ended, the GraphQL way (REST maps these onto 200, 422 and 503). */
export type D1MigrationKind = 'preview' | 'rejected' | 'applied' | 'failed';

export interface D1MigrationResult {
  outcome: D1MigrationKind;
  /** The contract's body: D1MigrationPreviewResponse or D1MigrationExecutionResponse. */
  report: D1MigrationOutcome['body'];
  /** Why D1 failed (`failed` only). */
  failure: string | null;
}

const databaseIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

export class AthenaD1Service {
  constructor(
    private readonly deps: { clients: AthenaClientsService; config: AthenaConfig; outbound: OutboundPolicy },
  ) {}

  async migrate(
    principal: Principal,
    input: { client: string | undefined; body: unknown },
  ): Promise<D1MigrationResult> {
    if (principal.kind === 'anonymous' && this.deps.clients.enforces(input.client)) {
      throw new AuthorizationError('an API key is required (apikey header)', principal);
    }
    let outcome: D1MigrationOutcome;
    try {
      const request = parseD1MigrationRequest(input.body);
      if (input.client) {
        // A named client is checked even for a preview: the caller says it works on that client.
        const client = await this.deps.clients.find(input.client);
        if (!client) throw new UnknownClientError(input.client);
        requireClientRight(
          principal,
          client.clientName,
          'gateway.sql.execute',
          this.deps.clients.enforces(client.clientName),
        );
      }
      // Built only when statements are to be applied: a preview or a strict rejection needs no D1 at all.
      const executor: D1Executor = {
        executeBatches: async (statements, options) =>
          (await this.executor(input.client)).executeBatches(statements, options),
      };
      outcome = await runD1Migration(request, executor);
    } catch (err) {
      if (err instanceof SqlRejectedError || err instanceof SqlSyntaxError) {
        throw new AthenaInvalidInputError(err.message, err.code.toLowerCase());
      }
      if (err instanceof D1RequestError) throw new AthenaError('d1_request_failed', 503, err.message);
      throw err;
    }
    if (outcome.httpStatus === 422) return { outcome: 'rejected', report: outcome.body, failure: null };
    if (outcome.httpStatus === 503) {
      return { outcome: 'failed', report: outcome.body, failure: outcome.failure?.message ?? 'D1 failed' };
    }
    const applied = 'perStatementResults' in outcome.body;
    return { outcome: applied ? 'applied' : 'preview', report: outcome.body, failure: null };
  }

  /** The D1 database of a D1-capable client, with the server's account and token. */
  private async executor(clientName: string | undefined): Promise<D1Executor> {
    if (!clientName) {
      throw new AthenaInvalidInputError(
        'Executing a D1 migration (dryRun: false) needs a D1-capable X-Athena-Client',
        'invalid_d1_migration_request',
      );
    }
    const client = await this.deps.clients.find(clientName);
    if (!client) throw new UnknownClientError(clientName);
    const metadata = (client.metadata ?? {}) as Record<string, unknown>;
    const databaseId = metadata.d1_database_id;
    if (typeof databaseId !== 'string' || !databaseIdPattern.test(databaseId)) {
      throw new AthenaInvalidInputError(
        `Client "${client.clientName}" is not D1-capable: its metadata has no d1_database_id`,
        'invalid_d1_migration_request',
      );
    }
    const { accountId, apiToken, baseUrl } = this.deps.config.d1;
    if (!accountId || !apiToken) {
      throw new AthenaError(
        'd1_unavailable',
        503,
        'D1 is not configured on this server (ATRIUM_ATHENA_D1_ACCOUNT_ID and ATRIUM_ATHENA_D1_API_TOKEN)',
      );
    }
    try {
      return new D1Client({
        baseUrl,
        accountId,
        databaseId,
        apiToken,
        // Results of DDL are small, but a data statement's may not be: more room than the guard's 64 KiB default.
        outbound: { ...this.deps.outbound, maxResponseBytes: 4 * 1024 * 1024, timeoutMs: 30_000 },
      });
    } catch (err) {
      if (err instanceof D1RequestError) throw new AthenaError('d1_unavailable', 503, err.message);
      throw err;
    }
  }
}
