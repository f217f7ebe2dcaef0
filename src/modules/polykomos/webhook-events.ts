import type { PolykomosDatabase } from '../../../prisma/generated/client/client.ts';
import type { Tx } from '../../core/db.ts';
import { emitWebhookEvent, type WebhookProduct } from '../webhooks/catalog.ts';
import { maskedConnectionString } from './connection-string.ts';

export type DatabaseEventType =
  | 'database.created'
  | 'database.provisioned'
  | 'database.provision_failed'
  | 'database.updated'
  | 'database.deleted';

/** The event catalogue (design §Webhooks); emitted so far: database.created/provisioned/provision_failed/updated/deleted and webhook.test. */
export const webhookEventTypes = [
  'database.created',
  'database.provisioned',
  'database.provision_failed',
  'database.updated',
  'database.paused',
  'database.resumed',
  'database.deleted',
  'database.quota_warning',
  'database.quota_exceeded',
  'blueprint_application.completed',
  'blueprint_application.failed',
  'blueprint_application.rolled_back',
  'webhook.test',
] as const;

export const signatureHeader = 'Polykomos-Signature';

/** Polykomos on the shared webhook engine: its catalog and request headers (registered by its module). */
export const polykomosWebhooks: WebhookProduct = {
  product: 'polykomos',
  events: webhookEventTypes,
  signatureHeader,
  headerPrefix: 'polykomos',
  userAgent: 'Polykomos-Webhooks/1',
  testPayload: (endpoint) => ({ object: 'webhook_endpoint', id: endpoint.id, url: endpoint.url }),
};

/** The contract's `Database` (snake_case) as webhook `data`; never the password. */
export function databasePayload(d: PolykomosDatabase) {
  return {
    object: 'database',
    uuid: d.uuid,
    name: d.name,
    status: d.status,
    region: d.region,
    plan: d.plan,
    quotas: {
      storage_hard_limit_gb: d.storageHardLimitGb,
      connection_hard_limit: d.connectionHardLimit,
      warning_threshold_pct: d.warningThresholdPct,
    },
    db_type: d.dbType,
    host: d.host,
    port: d.port,
    db_name: d.dbName,
    db_username: d.dbUsername,
    team_id: null,
    team_name: null,
    connection_string: maskedConnectionString(d.dbType, d.host, d.port, d.dbUsername, d.dbName),
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

/**
 * Writes a database event to the shared outbox (`webhook_events`, src/modules/webhooks). Call it with the
 * transaction that makes the state change, so the event exists exactly when the change does; the engine delivers it.
 */
export async function recordDatabaseEvent(tx: Tx, type: DatabaseEventType, row: PolykomosDatabase): Promise<void> {
  await emitWebhookEvent(tx, polykomosWebhooks, { ownerId: row.ownerId, type, payload: databasePayload(row) });
}
