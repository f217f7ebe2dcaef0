-- CreateTable
CREATE TABLE "goclaw_mcp_servers" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "display_name" TEXT,
    "transport" TEXT NOT NULL,
    "command" TEXT,
    "args" TEXT[],
    "env_enc" TEXT,
    "url" TEXT,
    "headers_enc" TEXT,
    "api_key_enc" TEXT,
    "tool_prefix" TEXT,
    "timeout_sec" INTEGER NOT NULL DEFAULT 60,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_mcp_servers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_custom_tools" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "parameters" JSONB NOT NULL DEFAULT '{"type":"object"}',
    "command" TEXT NOT NULL,
    "timeout_seconds" INTEGER NOT NULL DEFAULT 60,
    "env_enc" TEXT,
    "agent_id" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_custom_tools_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_builtin_tool_settings" (
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "updated_by" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_builtin_tool_settings_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "goclaw_skills" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "owner_id" TEXT NOT NULL,
    "visibility" TEXT NOT NULL DEFAULT 'private',
    "version" INTEGER NOT NULL DEFAULT 1,
    "status" TEXT NOT NULL DEFAULT 'active',
    "frontmatter" JSONB NOT NULL DEFAULT '{}',
    "file_path" TEXT NOT NULL,
    "file_size" INTEGER NOT NULL,
    "file_hash" TEXT NOT NULL,
    "tags" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_skills_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_channel_instances" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "display_name" TEXT,
    "channel_type" TEXT NOT NULL,
    "agent_id" TEXT,
    "credentials_enc" TEXT,
    "config" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "lease_owner" TEXT,
    "lease_until" TIMESTAMPTZ(3),
    "poll_offset" BIGINT,
    "last_connected_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_channel_instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_contacts" (
    "id" UUID NOT NULL,
    "channel_type" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "sender_id" TEXT NOT NULL,
    "display_name" TEXT,
    "username" TEXT,
    "peer_kind" TEXT NOT NULL DEFAULT 'direct',
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_contacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_pending_messages" (
    "id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "sender" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_pending_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_media" (
    "id" UUID NOT NULL,
    "filename" TEXT NOT NULL,
    "mime_type" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "object_key" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_media_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_activity" (
    "id" UUID NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_id" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_activity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_delegations" (
    "id" UUID NOT NULL,
    "source_agent_id" TEXT NOT NULL,
    "target_agent_id" TEXT NOT NULL,
    "user_id" TEXT,
    "task" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "result" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "goclaw_delegations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_mcp_servers_name_key" ON "goclaw_mcp_servers"("name");

-- CreateIndex
CREATE INDEX "goclaw_mcp_servers_created_at_id_idx" ON "goclaw_mcp_servers"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_custom_tools_name_key" ON "goclaw_custom_tools"("name");

-- CreateIndex
CREATE INDEX "goclaw_custom_tools_created_at_id_idx" ON "goclaw_custom_tools"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_skills_slug_key" ON "goclaw_skills"("slug");

-- CreateIndex
CREATE INDEX "goclaw_skills_created_at_id_idx" ON "goclaw_skills"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_channel_instances_name_key" ON "goclaw_channel_instances"("name");

-- CreateIndex
CREATE INDEX "goclaw_channel_instances_created_at_id_idx" ON "goclaw_channel_instances"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_contacts_channel_sender_id_key" ON "goclaw_contacts"("channel", "sender_id");

-- CreateIndex
CREATE INDEX "goclaw_pending_messages_channel_key_created_at_idx" ON "goclaw_pending_messages"("channel", "key", "created_at");

-- CreateIndex
CREATE INDEX "goclaw_activity_created_at_id_idx" ON "goclaw_activity"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "goclaw_delegations_created_at_id_idx" ON "goclaw_delegations"("created_at" DESC, "id" DESC);
