import type { RunEvent } from './runs.service.ts';

declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /**
     * A run's events (channel: the run id), published by the instance running it once they are stored in
     * `goclaw_run_events` (so a follower on another instance that misses one finds it in the table).
     */
    'goclaw.runEvents': [runId: string, payload: { events: RunEvent[] }];
    /** Abort a run wherever it runs (every instance checks its own runs; requests are rare). */
    'goclaw.runAbortRequested': [payload: { runId: string; reason: string }];
  }
}

export const goclawTopics = ['goclaw.runEvents', 'goclaw.runAbortRequested'] as const;
