/** Athena's events. Payloads are plain JSON (they cross Redis). */
declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /** A client's catalog row changed (created, updated, frozen, deleted): every instance drops its cached copy. */
    'athena.clientChanged': [payload: { clientName: string }];
    /** The API-key enforcement switch (global or a client's) changed: every instance reloads it. */
    'athena.apiKeyConfigChanged': [payload: Record<string, never>];
    /** Rows of a client table changed through the gateway or (Postgres) a trigger: subscriptions re-read. */
    'athena.rowsChanged': [
      channel: string,
      payload: { clientName: string; schema: string; table: string; op: string; source: 'gateway' | 'notify' },
    ];
  }
}

export const athenaTopics = ['athena.clientChanged', 'athena.apiKeyConfigChanged', 'athena.rowsChanged'] as const;
