declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /** An audit event was committed (API key created, revoked, …). */
    'access.auditEventRecorded': [payload: { auditEventId: string }];
  }
}

export const accessTopics = ['access.auditEventRecorded'] as const;
