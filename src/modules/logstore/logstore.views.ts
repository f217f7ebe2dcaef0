// Views of DeepStore rows (numbers at the edge: every BigInt is below 2^53).

export interface LogDatabaseView {
  databaseId: string;
  name: string;
  ownerId: string;
  createdAt: Date;
}

export interface DraftView {
  databaseId: string;
  draftId: string;
  scope: string;
  sizeBytes: number;
  numDocs: number;
  startTimestamp: number;
  endTimestamp: number;
  status: string;
  jobId: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

export interface SplitView {
  databaseId: string;
  splitId: string;
  state: string;
  timeRangeStart: number;
  timeRangeEnd: number;
  numDocs: number;
  sizeBytes: number;
  footerOffsets: { start: number; end: number };
  splitMetadataJson: string | null;
  scopes: string[];
  replacedBySplitId: string | null;
  replacesSplitIds: string[];
  jobId: string | null;
  markedForDeletionAt: Date | null;
  publishedAt: Date | null;
  createdAt: Date;
}

export interface JobView {
  databaseId: string;
  jobId: string;
  type: string;
  status: string;
  itemIds: string[];
  leasedBy: string;
  leasedAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
}

export interface DraftRow {
  databaseId: string;
  draftId: string;
  scope: string;
  sizeBytes: bigint;
  numDocs: bigint;
  startTs: bigint;
  endTs: bigint;
  status: string;
  jobId: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

export const toDraftView = (d: DraftRow): DraftView => ({
  databaseId: d.databaseId,
  draftId: d.draftId,
  scope: d.scope,
  sizeBytes: Number(d.sizeBytes),
  numDocs: Number(d.numDocs),
  startTimestamp: Number(d.startTs),
  endTimestamp: Number(d.endTs),
  status: d.status,
  jobId: d.jobId,
  attempts: d.attempts,
  lastError: d.lastError,
  createdAt: d.createdAt,
});

export interface SplitRow {
  databaseId: string;
  splitId: string;
  state: string;
  timeRangeStart: bigint;
  timeRangeEnd: bigint;
  numDocs: bigint;
  sizeBytes: bigint;
  footerStart: bigint;
  footerEnd: bigint;
  splitMetadataJson: string | null;
  scopes: string[];
  replacedBySplitId: string | null;
  replacesSplitIds: string[];
  jobId: string | null;
  markedForDeletionAt: Date | null;
  publishedAt: Date | null;
  createdAt: Date;
}

export const toSplitView = (s: SplitRow): SplitView => ({
  databaseId: s.databaseId,
  splitId: s.splitId,
  state: s.state,
  timeRangeStart: Number(s.timeRangeStart),
  timeRangeEnd: Number(s.timeRangeEnd),
  numDocs: Number(s.numDocs),
  sizeBytes: Number(s.sizeBytes),
  footerOffsets: { start: Number(s.footerStart), end: Number(s.footerEnd) },
  splitMetadataJson: s.splitMetadataJson,
  scopes: s.scopes,
  replacedBySplitId: s.replacedBySplitId,
  replacesSplitIds: s.replacesSplitIds,
  jobId: s.jobId,
  markedForDeletionAt: s.markedForDeletionAt,
  publishedAt: s.publishedAt,
  createdAt: s.createdAt,
});
