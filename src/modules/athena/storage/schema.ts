import type { ChatMigration } from '../chat/schema-runner.ts';

/*
 * Managed storage's tables in each client database (docs/athena.md, "Managed storage (G12)"), schema `athena`,
 * installed on first use by the same versioned runner as chat (`migrateClientSchema`, ledger
 * `athena.storage_schema_migrations`). Scripts are append-only.
 */

export const storageSchema = 'athena';
export const storageLedger = 'storage_schema_migrations';

export const storageMigrations: readonly ChatMigration[] = [
  {
    version: 1,
    name: 'storage_core',
    statements: [
      `CREATE TABLE athena.files (
        id text PRIMARY KEY,
        name text NOT NULL,
        original_name text,
        url text,
        bucket text NOT NULL,
        s3_id uuid NOT NULL,
        prefix_path text,
        size_bytes bigint,
        mime_type text,
        resource_id text,
        organization_id text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        storage_key text NOT NULL,
        uploaded_by_user_id text,
        extension text,
        is_public boolean NOT NULL DEFAULT false,
        status text NOT NULL DEFAULT 'pending_upload'
          CHECK (status IN ('pending_upload', 'uploaded', 'deleted', 'purged')),
        deleted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE UNIQUE INDEX files_live_key ON athena.files (s3_id, bucket, storage_key) WHERE deleted_at IS NULL`,
      `CREATE INDEX files_org_key ON athena.files (organization_id, s3_id, storage_key)`,
      `CREATE TABLE athena.file_permissions (
        id uuid PRIMARY KEY,
        file_id text REFERENCES athena.files (id) ON DELETE CASCADE,
        s3_id uuid,
        prefix text,
        organization_id text NOT NULL,
        principal_type text NOT NULL CHECK (principal_type IN ('user', 'organization', 'role')),
        principal_id text NOT NULL,
        permission text NOT NULL CHECK (permission IN ('read', 'write', 'delete', 'manage', 'owner')),
        granted_by text NOT NULL,
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((file_id IS NOT NULL AND prefix IS NULL) OR (file_id IS NULL AND prefix IS NOT NULL AND s3_id IS NOT NULL))
      )`,
      `CREATE UNIQUE INDEX file_permissions_file ON athena.file_permissions
        (file_id, principal_type, principal_id, permission) WHERE file_id IS NOT NULL`,
      `CREATE UNIQUE INDEX file_permissions_prefix ON athena.file_permissions
        (organization_id, s3_id, prefix, principal_type, principal_id, permission) WHERE prefix IS NOT NULL`,
      `CREATE INDEX file_permissions_principal ON athena.file_permissions (principal_type, principal_id)`,
      `CREATE TABLE athena.audit_log_files (
        id bigserial PRIMARY KEY,
        file_id text,
        organization_id text NOT NULL,
        actor_user_id text NOT NULL,
        action text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX audit_log_files_org ON athena.audit_log_files (organization_id, id DESC)`,
      `CREATE TABLE athena.event_log_files (
        id bigserial PRIMARY KEY,
        file_id text,
        organization_id text NOT NULL,
        actor_user_id text NOT NULL,
        action text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`,
      `CREATE INDEX event_log_files_unpublished ON athena.event_log_files (id) WHERE published_at IS NULL`,
      `CREATE TABLE athena.file_multipart_uploads (
        id uuid PRIMARY KEY,
        file_id text NOT NULL REFERENCES athena.files (id) ON DELETE CASCADE,
        s3_upload_id text NOT NULL,
        bucket text NOT NULL,
        storage_key text NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'aborted')),
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE athena.file_versions (
        version_id uuid PRIMARY KEY,
        file_id text NOT NULL REFERENCES athena.files (id) ON DELETE CASCADE,
        s3_version_id text,
        storage_key text NOT NULL,
        size_bytes bigint,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE athena.file_retention (
        file_id text PRIMARY KEY REFERENCES athena.files (id) ON DELETE CASCADE,
        mode text NOT NULL CHECK (mode IN ('governance', 'compliance')),
        retain_until timestamptz NOT NULL,
        legal_hold boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
    ],
  },
];
