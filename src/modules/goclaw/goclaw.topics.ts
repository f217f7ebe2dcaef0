import type { RunAbortRequest, RunEvent } from './runs.service.ts';

declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /**
     * A run's events (channel: the run id), published by the instance running it once they are stored in
     * `goclaw_run_events` (so a follower on another instance that misses one finds it in the table).
     */
    'goclaw.runEvents': [runId: string, payload: { events: RunEvent[] }];
    /**
     * Abort a run (by id) or a session's running runs wherever they run: every instance checks its own runs, and
     * aborts those the requester may (`by` started them, or `admin`). Requests are rare: one broadcast topic.
     */
    'goclaw.runAbortRequested': [payload: RunAbortRequest];
  }
}

export const goclawTopics = ['goclaw.runEvents', 'goclaw.runAbortRequested'] as const;
