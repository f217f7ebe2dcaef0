import { randomUUID } from 'node:crypto';
import { type AthenaDeferredRequest, Prisma } from '../../../prisma/generated/client/client.ts';
import { adminPrincipal, anonymous, type Principal, principalId } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { AuthorizationError, DomainError } from '../../core/errors.ts';
import {
  defineJobKind,
  type JobContext,
  type JobKind,
  type JobRunner,
  PermanentJobError,
} from '../../core/jobs/runner.ts';
import type { Logger } from '../../core/logger.ts';
import { boundClient, isAthenaAdmin, requireClientRight } from './athena.access.ts';
import type { AthenaConfig } from './athena.config.ts';
import { AthenaError, UnknownClientError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';
import { GatewayError } from './gateway/errors.ts';
import { GatewayParseError } from './gateway/parse-errors.ts';
import {
  type GatewayRequestHeaders,
  type GatewayRoute,
  parseGatewayRequest,
  writtenTable,
} from './gateway/requests.ts';
import type { AthenaGatewayService, GatewayAnswer } from './gateway.service.ts';

/*
 * Deferred gateway requests (notes §1.8, §3.10; docs/athena.md): `X-Athena-Defer: true` stores the request — route,
 * method, body, the headers that change its meaning, the caller and the client — as a row and a durable job
 * `athena.deferred`, which any instance may claim. The job runs it later as the same caller (an API key is looked
 * up again: a key revoked meanwhile fails the request) through the gateway service, exactly as the inline route
 * would, and records the answer. States: queued → running → completed | failed; requeue puts a finished request
 * back (attempts + 1); flush runs every queued request now. At least once: a runner that dies mid-request leaves
 * the row `running`, and the reclaimed job takes it over once it is stale (older than twice the statement timeout).
 */

/** Deferred request states. */
export const deferredStates = ['queued', 'running', 'completed', 'failed'] as const;
export type DeferredState = (typeof deferredStates)[number];

/** HTTP method of each gateway route (what the row records). */
const methodOf: Record<GatewayRoute, string> = {
  fetch: 'POST',
  update: 'POST',
  insert: 'PUT',
  delete: 'DELETE',
  query: 'POST',
};

const rightOf = {
  fetch: 'gateway.fetch.execute',
  update: 'gateway.update.execute',
  insert: 'gateway.insert.execute',
  delete: 'gateway.delete.execute',
  query: 'gateway.query.execute',
} as const;

/** What the row's `payload` holds. */
interface StoredRequest {
  body: unknown;
  headers: GatewayRequestHeaders;
}

interface DeferredJobPayload {
  requestId: string;
  /** The attempt this job runs: a requeue enqueues a new job for the next one, and this one then stands down. */
  attempt: number;
}

/** What a flush did. */
export interface DeferredFlushResult {
  succeeded: number;
  failed: number;
  /** Tables (`schema.table`) the flushed writes changed: their cached counts were dropped. */
  invalidatedTables: string[];
}

/** The deferred request is unknown, or not the caller's to see (404 alike). */
export class DeferredNotFoundError extends AthenaError {
  constructor(requestId: string) {
    super('deferred_not_found', 404, `Deferred request "${requestId.slice(0, 80)}" not found`);
    this.name = 'DeferredNotFoundError';
  }
}

const jsonOf = (v: unknown) => v as Prisma.InputJsonValue;

export class AthenaDeferredService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      jobs: JobRunner;
      gateway: AthenaGatewayService;
      clients: AthenaClientsService;
      config: AthenaConfig;
      logger: Logger;
    },
  ) {}

  /** A running request older than this is taken over by its reclaimed job (its runner died). */
  private get staleMs(): number {
    return this.deps.config.statementTimeoutMs * 2 + 5_000;
  }

  /**
   * Stores a request for later. The body is parsed now (a malformed one is a 400 here, not a failed request later)
   * and the caller must hold the route's right on the client now; both are checked again when it runs.
   */
  async defer(
    principal: Principal,
    input: { client: string | undefined; route: GatewayRoute; body: unknown; headers?: GatewayRequestHeaders },
  ): Promise<AthenaDeferredRequest> {
    if (principal.kind === 'anonymous') {
      throw new AuthorizationError('a deferred request needs an API key (it runs later as its owner)', principal);
    }
    const headers = input.headers ?? {};
    parseGatewayRequest(input.route, input.body, headers);
    if (!input.client) throw new UnknownClientError(undefined);
    const client = await this.deps.clients.find(input.client);
    if (!client) throw new UnknownClientError(input.client);
    requireClientRight(
      principal,
      client.clientName,
      rightOf[input.route],
      this.deps.clients.enforces(client.clientName),
    );
    const requestId = randomUUID();
    const payload: StoredRequest = { body: input.body ?? null, headers };
    const row = await this.deps.prisma.$transaction(async (tx) => {
      const created = await tx.athenaDeferredRequest.create({
        data: {
          requestId,
          clientName: client.clientName,
          route: input.route,
          method: methodOf[input.route],
          payload: jsonOf(payload),
          status: 'queued',
          attempts: 1,
          actor: principalId(principal),
        },
      });
      await this.deps.jobs.enqueue(
        this.jobKind,
        { requestId, attempt: 1 },
        { tx, dedupeKey: `deferred:${requestId}:1` },
      );
      return created;
    });
    this.deps.jobs.wake();
    return row;
  }

  /** A deferred request the caller may see: the admin any, a key bound to its client that client's. */
  async get(principal: Principal, requestId: string): Promise<AthenaDeferredRequest> {
    const row = await this.deps.prisma.athenaDeferredRequest.findUnique({ where: { requestId } });
    if (!row || !this.visible(principal, row.clientName)) throw new DeferredNotFoundError(requestId);
    return row;
  }

  /** Completed or failed → queued again with attempts + 1, and a new job for it; 409 in any other state. */
  async requeue(principal: Principal, requestId: string): Promise<AthenaDeferredRequest> {
    const current = await this.get(principal, requestId);
    if (current.status !== 'completed' && current.status !== 'failed') {
      throw new AthenaError(
        'deferred_not_requeueable',
        409,
        `Deferred request ${requestId} is ${current.status}: only completed or failed requests can be requeued`,
      );
    }
    const attempt = current.attempts + 1;
    const row = await this.deps.prisma.$transaction(async (tx) => {
      // The state is the guard: of two concurrent requeues, one finds the row already queued and answers 409.
      const moved = await tx.athenaDeferredRequest.updateMany({
        where: { requestId, status: current.status, attempts: current.attempts },
        data: {
          status: 'queued',
          attempts: attempt,
          requeuedAt: new Date(),
          startedAt: null,
          finishedAt: null,
          error: null,
          result: Prisma.DbNull,
        },
      });
      if (moved.count === 0) return null;
      await this.deps.jobs.enqueue(
        this.jobKind,
        { requestId, attempt },
        { tx, dedupeKey: `deferred:${requestId}:${attempt}` },
      );
      return tx.athenaDeferredRequest.findUniqueOrThrow({ where: { requestId } });
    });
    if (!row) {
      throw new AthenaError('deferred_not_requeueable', 409, `Deferred request ${requestId} changed meanwhile`);
    }
    this.deps.jobs.wake();
    return row;
  }

  /**
   * Runs every queued request the caller may see now, one after another (the admin: all; a bound key: its
   * client's), and answers the counts. Their jobs, when they come, find them finished and stand down.
   */
  async flush(principal: Principal): Promise<DeferredFlushResult> {
    if (principal.kind === 'anonymous') throw new AuthorizationError('an API key is required', principal);
    const scope = isAthenaAdmin(principal) ? {} : { clientName: boundClient(principal) ?? '\u0000' };
    const queued = await this.deps.prisma.athenaDeferredRequest.findMany({
      where: { status: 'queued', ...scope },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: 1000,
    });
    const out: DeferredFlushResult = { succeeded: 0, failed: 0, invalidatedTables: [] };
    const tables = new Set<string>();
    for (const row of queued) {
      const claimed = await this.claim(row.requestId, row.attempts, false);
      if (!claimed) continue;
      const outcome = await this.execute(claimed);
      if (outcome.retry) {
        // Not the request's fault: back to the queue for its job to retry; this flush counts it failed.
        await this.release(claimed);
        out.failed++;
        continue;
      }
      const finished = await this.finish(this.deps.prisma, claimed, outcome);
      if (!finished) continue;
      if (outcome.ok) {
        out.succeeded++;
        if (outcome.written) tables.add(outcome.written);
      } else {
        out.failed++;
      }
    }
    out.invalidatedTables = [...tables].sort();
    return out;
  }

  /** `athena.deferred`: runs one attempt of a deferred request (docs/athena.md, Deferred requests). */
  readonly jobKind: JobKind<DeferredJobPayload, { requestId: string; status: string }> = defineJobKind({
    kind: 'athena.deferred',
    maxAttempts: 10,
    backoff: { baseMs: 500, maxMs: 30_000 },
    run: (payload, ctx) => this.runJob(payload, ctx),
    onDead: async ({ requestId, attempt }, error, { tx }) => {
      await tx.athenaDeferredRequest.updateMany({
        where: { requestId, attempts: attempt, status: { in: ['queued', 'running'] } },
        data: { status: 'failed', error: error.slice(0, 2000), finishedAt: new Date() },
      });
    },
  });

  private async runJob({ requestId, attempt }: DeferredJobPayload, ctx: JobContext) {
    const claimed = await this.claim(requestId, attempt, true);
    if (!claimed) {
      const row = await this.deps.prisma.athenaDeferredRequest.findUnique({ where: { requestId } });
      if (!row) throw new PermanentJobError('the deferred request row is gone');
      // Requeued since (a newer job runs the next attempt) or already finished (by a flush): nothing to do.
      if (row.attempts !== attempt || row.status === 'completed' || row.status === 'failed') {
        return { requestId, status: row.status };
      }
      // Running under a flush, or under a runner whose lease has not run out yet: try again later.
      throw new Error(`deferred request ${requestId} is running elsewhere`);
    }
    const outcome = await this.execute(claimed);
    if (outcome.retry) {
      // Not the request's fault (a database down, a bug): it goes back to the queue and the job retries.
      await this.release(claimed);
      throw outcome.retry;
    }
    await ctx.fenced((tx) => this.finish(tx, claimed, outcome));
    return { requestId, status: outcome.ok ? 'completed' : 'failed' };
  }

  /** running → queued again (the run failed for a reason that is not the request's). */
  private async release(row: AthenaDeferredRequest): Promise<void> {
    await this.deps.prisma.athenaDeferredRequest.updateMany({
      where: { requestId: row.requestId, attempts: row.attempts, status: 'running' },
      data: { status: 'queued', startedAt: null },
    });
  }

  /** queued → running for this attempt; with `takeOverStale`, also a running row whose runner is gone. */
  private async claim(requestId: string, attempt: number, takeOverStale: boolean) {
    const now = new Date();
    const states: Prisma.AthenaDeferredRequestWhereInput[] = [{ status: 'queued' }];
    if (takeOverStale) states.push({ status: 'running', startedAt: { lt: new Date(now.getTime() - this.staleMs) } });
    const moved = await this.deps.prisma.athenaDeferredRequest.updateMany({
      where: { requestId, attempts: attempt, OR: states },
      data: { status: 'running', startedAt: now },
    });
    if (moved.count === 0) return null;
    return this.deps.prisma.athenaDeferredRequest.findUnique({ where: { requestId } });
  }

  /** Runs the stored request as its owner; expected failures are the request's outcome, others a retry. */
  private async execute(
    row: AthenaDeferredRequest,
  ): Promise<
    | { ok: true; answer: GatewayAnswer; written?: string; retry?: undefined }
    | { ok: false; error: string; code: string; retry?: undefined }
    | { ok: false; retry: Error }
  > {
    try {
      const principal = await this.principalOf(row.actor);
      const stored = row.payload as unknown as StoredRequest;
      const request = parseGatewayRequest(row.route as GatewayRoute, stored.body, stored.headers ?? {});
      const answer = await this.deps.gateway.execute(principal, { client: row.clientName, request });
      return { ok: true, answer, written: writtenTable(request) };
    } catch (err) {
      if (
        err instanceof DomainError ||
        err instanceof AuthorizationError ||
        err instanceof GatewayError ||
        err instanceof GatewayParseError
      ) {
        const code = err instanceof AuthorizationError ? 'forbidden' : String(err.code);
        return { ok: false, error: err.message, code };
      }
      this.deps.logger.warn(
        { requestId: row.requestId, err: (err as Error).message },
        'athena deferred request failed',
      );
      return { ok: false, retry: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  private async finish(
    db: Pick<PrismaClient, 'athenaDeferredRequest'>,
    row: AthenaDeferredRequest,
    outcome: { ok: true; answer: GatewayAnswer } | { ok: false; error: string; code: string },
  ): Promise<boolean> {
    const data = outcome.ok
      ? {
          status: 'completed',
          result: jsonOf({
            status: 'success',
            message: outcome.answer.message,
            data: outcome.answer.data,
            ...(outcome.answer.postProcessing ? { post_processing: outcome.answer.postProcessing } : {}),
          }),
          error: null,
        }
      : { status: 'failed', result: jsonOf({ status: 'error', code: outcome.code }), error: outcome.error };
    const done = await db.athenaDeferredRequest.updateMany({
      where: { requestId: row.requestId, attempts: row.attempts, status: 'running' },
      data: { ...data, finishedAt: new Date() },
    });
    return done.count === 1;
  }

  /** The principal a deferred request runs as: the admin, or its API key as it is now (revoked keys fail). */
  private async principalOf(actor: string): Promise<Principal> {
    if (actor === 'admin') return adminPrincipal;
    if (actor === 'anonymous') return anonymous;
    const id = actor.startsWith('apikey:') ? actor.slice('apikey:'.length) : undefined;
    const key = id ? await this.deps.prisma.apiKey.findUnique({ where: { id } }) : null;
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= Date.now())) {
      throw new AuthorizationError('the API key that deferred this request is no longer valid', { kind: 'apiKey' });
    }
    return { kind: 'apiKey', id: key.id, product: key.product, name: key.name, scopes: key.scopes };
  }

  private visible(principal: Principal, clientName: string): boolean {
    if (principal.kind === 'anonymous') throw new AuthorizationError('an API key is required', principal);
    return isAthenaAdmin(principal) || boundClient(principal) === clientName;
  }
}
