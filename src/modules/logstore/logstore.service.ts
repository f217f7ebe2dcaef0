import type { Principal } from '../../core/auth/principal.ts';
import type { CoreServices } from '../../core/services.ts';
import * as completes from './logstore.completes.ts';
import type { LogStoreConfig } from './logstore.config.ts';
import * as databases from './logstore.databases.ts';
import * as drafts from './logstore.drafts.ts';
import type {
  CommitDraftInput,
  CompleteCleanupInput,
  CompleteIndexingInput,
  CompleteMergeInput,
  CompleteRef,
  CreateDatabaseInput,
  DatabaseRef,
  DraftListInput,
  DraftRef,
  JobListInput,
  JobRef,
  LeaseInput,
  ListPage,
  MintQueryTokenInput,
  ResetRetriesInput,
  SplitListInput,
  SplitRef,
} from './logstore.input.ts';
import * as leases from './logstore.leases.ts';
import { type ServiceTokenDoor, serviceTokenVerifier } from './service-tokens.ts';

/** What the log store works with: core services and its own configuration. */
export type LogStoreDeps = Pick<CoreServices, 'prisma' | 'pubsub' | 'tokens' | 'objectStore' | 'logger'> & {
  config: LogStoreConfig;
};

export type { CallerKind } from './logstore.access.ts';
export { callerKind } from './logstore.access.ts';
export type { CompleteResult } from './logstore.completes.ts';
export type { DatabaseWithCounts } from './logstore.databases.ts';
export type { IndexingJobView } from './logstore.leases.ts';

/**
 * DeepStore's one service. Every method takes the caller and a typed, already-checked input (logstore.input.ts
 * turns door values into these once); authorization (token matrix, database binding, ownership) happens here.
 * The work is split by concern: databases and tokens, drafts and splits, leases, completes.
 */
export class LogStoreService {
  /** DeepStore service tokens (`dss_…`), resolved at every door. */
  readonly serviceTokens: ServiceTokenDoor;

  constructor(private readonly deps: LogStoreDeps) {
    this.serviceTokens = serviceTokenVerifier(deps);
  }

  get config(): LogStoreConfig {
    return this.deps.config;
  }

  // ---- databases and tokens

  createDatabase(p: Principal, input: CreateDatabaseInput) {
    return databases.createDatabase(this.deps, p, input);
  }

  getDatabase(p: Principal, input: DatabaseRef) {
    return databases.getDatabase(this.deps, p, input);
  }

  /** The database, or null when it is missing or the caller may not read it (indistinguishable). */
  findDatabase(p: Principal, input: DatabaseRef) {
    return databases.findDatabase(this.deps, p, input);
  }

  listDatabases(p: Principal, page: ListPage) {
    return databases.listDatabases(this.deps, p, page);
  }

  async deleteDatabase(p: Principal, input: DatabaseRef) {
    const r = await databases.deleteDatabase(this.deps, p, input);
    this.serviceTokens.forgetDatabase(input.databaseId);
    return r;
  }

  async rotateServiceToken(p: Principal, input: DatabaseRef) {
    const r = await databases.rotateServiceToken(this.deps, p, input);
    this.serviceTokens.forgetDatabase(input.databaseId);
    return r;
  }

  async revokeServiceTokens(p: Principal, input: DatabaseRef) {
    const r = await databases.revokeServiceTokens(this.deps, p, input);
    this.serviceTokens.forgetDatabase(input.databaseId);
    return r;
  }

  mintQueryToken(p: Principal, input: MintQueryTokenInput) {
    return databases.mintQueryToken(this.deps, p, input);
  }

  // ---- drafts and splits

  commitDraft(p: Principal, input: CommitDraftInput) {
    return drafts.commitDraft(this.deps, p, input);
  }

  listDrafts(p: Principal, input: DraftListInput) {
    return drafts.listDrafts(this.deps, p, input);
  }

  listSplits(p: Principal, input: SplitListInput) {
    return drafts.listSplits(this.deps, p, input);
  }

  /** A draft the caller may list, or null (missing and forbidden are indistinguishable). */
  findDraft(p: Principal, ref: DraftRef) {
    return drafts.findDraft(this.deps, p, ref);
  }

  /** A split the caller may list, or null (missing and forbidden are indistinguishable). */
  findSplit(p: Principal, ref: SplitRef) {
    return drafts.findSplit(this.deps, p, ref);
  }

  /** A job the caller may read, or null (missing and forbidden are indistinguishable). */
  findJob(p: Principal, ref: JobRef) {
    return leases.findJob(this.deps, p, ref);
  }

  // ---- leases

  leaseIndexingJob(p: Principal, input: LeaseInput) {
    return leases.leaseIndexingJob(this.deps, p, input);
  }

  leaseCleanupJob(p: Principal, input: LeaseInput) {
    return leases.leaseCleanupJob(this.deps, p, input);
  }

  leaseMergeJob(p: Principal, input: LeaseInput) {
    return leases.leaseMergeJob(this.deps, p, input);
  }

  leaseSplitCleanupJob(p: Principal, input: LeaseInput) {
    return leases.leaseSplitCleanupJob(this.deps, p, input);
  }

  listJobs(p: Principal, input: JobListInput) {
    return leases.listJobs(this.deps, p, input);
  }

  resetRetries(p: Principal, input: ResetRetriesInput) {
    return leases.resetRetries(this.deps, p, input);
  }

  authorizeJobEvents(p: Principal, input: DatabaseRef) {
    return leases.authorizeJobEvents(this.deps, p, input);
  }

  // ---- completes

  completeIndexingJob(p: Principal, ref: CompleteRef, input: CompleteIndexingInput) {
    return completes.completeIndexingJob(this.deps, p, ref, input);
  }

  completeCleanupJob(p: Principal, ref: CompleteRef, input: CompleteCleanupInput) {
    return completes.completeCleanupJob(this.deps, p, ref, input);
  }

  completeMergeJob(p: Principal, ref: CompleteRef, input: CompleteMergeInput) {
    return completes.completeMergeJob(this.deps, p, ref, input);
  }

  completeSplitCleanupJob(p: Principal, ref: CompleteRef, input: CompleteCleanupInput) {
    return completes.completeSplitCleanupJob(this.deps, p, ref, input);
  }
}
