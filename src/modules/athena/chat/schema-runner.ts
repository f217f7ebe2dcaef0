import type { Queryable } from '../gateway/catalog-types.ts';
import type { ClientDatabase } from '../pools.ts';

/*
 * The chat schema of a client database (`athena_chat`), installed on first use by a migration-style runner:
 * versioned scripts, each applied once and recorded in `athena_chat.schema_migrations`, in one transaction under a
 * transaction-level advisory lock so that concurrent first uses (requests, instances, processes) take turns and a
 * failed script leaves nothing behind. Scripts are append-only: a new version adds a script, never edits one.
 */

export const chatSchema = 'athena_chat';

export interface ChatMigration {
  version: number;
  name: string;
  statements: string[];
}

export const chatMigrations: readonly ChatMigration[] = [
  {
    version: 1,
    name: 'chat_core',
    statements: [
      `CREATE TABLE athena_chat.chat_rooms (
        id uuid PRIMARY KEY,
        organization_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('dm', 'group', 'channel')),
        title text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        archived_at timestamptz,
        last_message_id uuid,
        last_message_seq bigint NOT NULL DEFAULT 0,
        last_message_at timestamptz,
        version bigint NOT NULL DEFAULT 1,
        dm_key text
      )`,
      `CREATE UNIQUE INDEX chat_rooms_dm_pair ON athena_chat.chat_rooms (organization_id, dm_key) WHERE kind = 'dm'`,
      `CREATE TABLE athena_chat.chat_room_members (
        room_id uuid NOT NULL REFERENCES athena_chat.chat_rooms (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        joined_at timestamptz NOT NULL DEFAULT now(),
        last_read_seq bigint NOT NULL DEFAULT 0,
        last_read_message_id uuid,
        muted boolean NOT NULL DEFAULT false,
        notification_mode text,
        hidden_at timestamptz,
        PRIMARY KEY (room_id, user_id)
      )`,
      `CREATE INDEX chat_room_members_user ON athena_chat.chat_room_members (user_id)`,
      `CREATE TABLE athena_chat.chat_messages (
        id uuid PRIMARY KEY,
        room_id uuid NOT NULL REFERENCES athena_chat.chat_rooms (id) ON DELETE CASCADE,
        room_seq bigint NOT NULL,
        sender_id text NOT NULL,
        client_message_id text,
        body_text text,
        body_json jsonb,
        reply_to_message_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        edited_at timestamptz,
        deleted_at timestamptz,
        metadata_json jsonb,
        search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(body_text, ''))) STORED,
        UNIQUE (room_id, room_seq),
        UNIQUE (room_id, sender_id, client_message_id)
      )`,
      `CREATE INDEX chat_messages_search ON athena_chat.chat_messages USING gin (search)`,
      `CREATE TABLE athena_chat.chat_message_attachments (
        message_id uuid NOT NULL REFERENCES athena_chat.chat_messages (id) ON DELETE CASCADE,
        file_id text NOT NULL,
        ordinal int NOT NULL,
        PRIMARY KEY (message_id, ordinal)
      )`,
      `CREATE TABLE athena_chat.chat_message_reactions (
        message_id uuid NOT NULL REFERENCES athena_chat.chat_messages (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        emoji text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (message_id, user_id, emoji)
      )`,
      `CREATE TABLE athena_chat.chat_outbox (
        id bigserial PRIMARY KEY,
        room_id uuid NOT NULL,
        event_type text NOT NULL,
        room_seq bigint,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`,
      `CREATE INDEX chat_outbox_unpublished ON athena_chat.chat_outbox (id) WHERE published_at IS NULL`,
    ],
  },
];

/** Applies every missing chat migration; returns the versions it applied (empty when the schema was current). */
export function migrateChatSchema(db: ClientDatabase): Promise<number[]> {
  return migrateClientSchema(db, { schema: chatSchema, ledger: 'schema_migrations', migrations: chatMigrations });
}

/**
 * The versioned runner of a schema Athena owns in client databases (chat's `athena_chat`, managed storage's
 * `athena`): every missing migration of `migrations` is applied in one transaction under an advisory lock keyed by
 * the ledger table, and recorded in `<schema>.<ledger>`. Returns the versions it applied.
 */
export async function migrateClientSchema(
  db: ClientDatabase,
  spec: { schema: string; ledger: string; migrations: readonly ChatMigration[] },
): Promise<number[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(spec.schema) || !/^[a-z_][a-z0-9_]*$/.test(spec.ledger)) {
    throw new Error('schema and ledger names are plain identifiers');
  }
  const ledger = `${spec.schema}.${spec.ledger}`;
  return db.transaction({}, async (q: Queryable) => {
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ledger]);
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${spec.schema}`);
    await q.query(`CREATE TABLE IF NOT EXISTS ${ledger} (
      version int PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = await q.query<{ version: number }>(`SELECT version FROM ${ledger}`);
    const have = new Set(done.rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of spec.migrations) {
      if (have.has(m.version)) continue;
      for (const statement of m.statements) await q.query(statement);
      await q.query(`INSERT INTO ${ledger} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
