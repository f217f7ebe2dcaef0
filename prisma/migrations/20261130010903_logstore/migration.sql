-- CreateEnum
CREATE TYPE "LogDraftStatus" AS ENUM ('committed', 'indexing', 'index_failed', 'indexed', 'cleaning_up', 'cleanup_failed');

-- CreateEnum
CREATE TYPE "LogSplitState" AS ENUM ('staged', 'published', 'marked_for_deletion');

-- CreateEnum
CREATE TYPE "LogJobType" AS ENUM ('indexing', 'cleanup', 'merge', 'split_cleanup');

-- CreateEnum
CREATE TYPE "LogJobStatus" AS ENUM ('active', 'completed', 'expired');

-- CreateTable
CREATE TABLE "log_databases" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "log_databases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "log_service_tokens" (
    "id" UUID NOT NULL,
    "database_id" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "log_service_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "log_drafts" (
    "database_id" TEXT NOT NULL,
    "draft_id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "num_docs" BIGINT NOT NULL,
    "start_ts" BIGINT NOT NULL,
    "end_ts" BIGINT NOT NULL,
    "status" "LogDraftStatus" NOT NULL DEFAULT 'committed',
    "job_id" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_eligible_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "log_drafts_pkey" PRIMARY KEY ("database_id","draft_id")
);

-- CreateTable
CREATE TABLE "log_splits" (
    "database_id" TEXT NOT NULL,
    "split_id" TEXT NOT NULL,
    "state" "LogSplitState" NOT NULL,
    "time_range_start" BIGINT NOT NULL,
    "time_range_end" BIGINT NOT NULL,
    "num_docs" BIGINT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "footer_start" BIGINT NOT NULL,
    "footer_end" BIGINT NOT NULL,
    "split_metadata_json" TEXT,
    "scopes" TEXT[],
    "source_job_id" TEXT,
    "replaced_by_split_id" TEXT,
    "replaces_split_ids" TEXT[],
    "job_id" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_eligible_at" TIMESTAMPTZ(3),
    "marked_for_deletion_at" TIMESTAMPTZ(3),
    "published_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "log_splits_pkey" PRIMARY KEY ("database_id","split_id")
);

-- CreateTable
CREATE TABLE "log_jobs" (
    "id" TEXT NOT NULL,
    "database_id" TEXT NOT NULL,
    "type" "LogJobType" NOT NULL,
    "status" "LogJobStatus" NOT NULL,
    "item_ids" TEXT[],
    "leased_by" TEXT NOT NULL,
    "leased_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "completed_at" TIMESTAMPTZ(3),
    "result_hash" TEXT,
    "result" JSONB,

    CONSTRAINT "log_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "log_databases_owner_id_created_at_idx" ON "log_databases"("owner_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "log_service_tokens_token_hash_key" ON "log_service_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "log_service_tokens_database_id_idx" ON "log_service_tokens"("database_id");

-- CreateIndex
CREATE INDEX "log_drafts_database_id_status_created_at_draft_id_idx" ON "log_drafts"("database_id", "status", "created_at", "draft_id");

-- CreateIndex
CREATE INDEX "log_drafts_job_id_idx" ON "log_drafts"("job_id");

-- CreateIndex
CREATE INDEX "log_splits_database_id_state_time_range_start_idx" ON "log_splits"("database_id", "state", "time_range_start");

-- CreateIndex
CREATE INDEX "log_splits_job_id_idx" ON "log_splits"("job_id");

-- CreateIndex
CREATE INDEX "log_jobs_database_id_type_status_expires_at_idx" ON "log_jobs"("database_id", "type", "status", "expires_at");

-- AddForeignKey
ALTER TABLE "log_service_tokens" ADD CONSTRAINT "log_service_tokens_database_id_fkey" FOREIGN KEY ("database_id") REFERENCES "log_databases"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "log_drafts" ADD CONSTRAINT "log_drafts_database_id_fkey" FOREIGN KEY ("database_id") REFERENCES "log_databases"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "log_splits" ADD CONSTRAINT "log_splits_database_id_fkey" FOREIGN KEY ("database_id") REFERENCES "log_databases"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "log_jobs" ADD CONSTRAINT "log_jobs_database_id_fkey" FOREIGN KEY ("database_id") REFERENCES "log_databases"("id") ON DELETE CASCADE ON UPDATE CASCADE;
