import type { RunEvent } from './runs.service.ts';

declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /**
     * A run's events (channel: the run id), published by the instance running it once they are stored in
     * `goclaw_run_events` (so a follower on another instance that misses one finds it in the table).
     */
    'goclaw.runEvents': [runId: string, payload: { events: RunEvent[] }];
  }
}

export const goclawTopics = ['goclaw.runEvents'] as const;
