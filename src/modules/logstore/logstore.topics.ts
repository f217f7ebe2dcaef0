/** A job lifecycle event on one log database (published after the transaction commits). */
export interface LogJobEventPayload {
  jobId: string;
  type: 'indexing' | 'cleanup' | 'merge' | 'split_cleanup';
  event: 'leased' | 'completed' | 'expired';
  itemIds: string[];
  /** ISO-8601 time of the event. */
  at: string;
}

declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /** Per-database channel `logstore.jobEvent:<databaseId>`. */
    'logstore.jobEvent': [databaseId: string, payload: LogJobEventPayload];
  }
}

export const logStoreTopics = ['logstore.jobEvent'] as const;
