declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /** An audit event was committed (API key created, revoked, …). */
    'access.auditEventRecorded': [payload: { auditEventId: string }];
    /** Global IP rules changed: every instance drops its copy. */
    'access.ipRulesChanged': [payload: Record<string, never>];
  }
}

export const accessTopics = ['access.auditEventRecorded', 'access.ipRulesChanged'] as const;
