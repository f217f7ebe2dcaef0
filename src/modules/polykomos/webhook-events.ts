import { randomBytes } from 'node:crypto';
import type { PolykomosDatabase } from '../../../prisma/generated/client/client.ts';
import type { Tx } from '../../core/db.ts';
import { maskedConnectionString } from './connection-string.ts';

export type DatabaseEventType =
  | 'database.created'
  | 'database.provisioned'
  | 'database.provision_failed'
  | 'database.updated'
  | 'database.deleted';

export const newEventId = () => `evt_${randomBytes(12).toString('hex')}`;

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
 * Writes a database event to the outbox (`polykomos_webhook_events`). Call it with the transaction that makes the
 * state change, so the event exists exactly when the change does; the delivery loop sends it.
 */
export async function recordDatabaseEvent(tx: Tx, type: DatabaseEventType, row: PolykomosDatabase): Promise<void> {
  await tx.polykomosWebhookEvent.create({
    data: { id: newEventId(), ownerId: row.ownerId, type, payload: databasePayload(row) },
  });
}
