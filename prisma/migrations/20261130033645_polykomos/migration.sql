-- CreateEnum
CREATE TYPE "PolykomosDatabaseStatus" AS ENUM ('provisioning', 'active', 'paused', 'deleted');

-- CreateEnum
CREATE TYPE "PolykomosDbType" AS ENUM ('postgres', 'mysql');

-- CreateTable
CREATE TABLE "polykomos_key_controls" (
    "api_key_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "user_name" TEXT NOT NULL,
    "user_email" TEXT NOT NULL,
    "requests_per_minute" INTEGER NOT NULL DEFAULT 60,
    "monthly_quota" INTEGER,
    "allowed_ip_list" TEXT[],
    "inactive_ttl_days" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "polykomos_key_controls_pkey" PRIMARY KEY ("api_key_id")
);

-- CreateTable
CREATE TABLE "polykomos_usage_counters" (
    "api_key_id" UUID NOT NULL,
    "month" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "polykomos_usage_counters_pkey" PRIMARY KEY ("api_key_id","month")
);

-- CreateTable
CREATE TABLE "polykomos_idempotency_records" (
    "id" UUID NOT NULL,
    "api_key_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "response_status" INTEGER,
    "response_body" JSONB,
    "response_headers" JSONB,
    "request_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "polykomos_idempotency_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "polykomos_databases" (
    "id" SERIAL NOT NULL,
    "uuid" UUID NOT NULL,
    "owner_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "PolykomosDatabaseStatus" NOT NULL,
    "region" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "db_type" "PolykomosDbType" NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "db_name" TEXT NOT NULL,
    "db_username" TEXT NOT NULL,
    "db_password_enc" TEXT NOT NULL,
    "storage_hard_limit_gb" DOUBLE PRECISION,
    "connection_hard_limit" INTEGER,
    "warning_threshold_pct" INTEGER,
    "has_remote_resources" BOOLEAN NOT NULL DEFAULT false,
    "provision_error" TEXT,
    "deleted_at" TIMESTAMPTZ(3),
    "destroy_scheduled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "polykomos_databases_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "polykomos_idempotency_records_expires_at_idx" ON "polykomos_idempotency_records"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "polykomos_idempotency_records_api_key_id_key_key" ON "polykomos_idempotency_records"("api_key_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "polykomos_databases_uuid_key" ON "polykomos_databases"("uuid");

-- CreateIndex
CREATE UNIQUE INDEX "polykomos_databases_db_name_key" ON "polykomos_databases"("db_name");

-- CreateIndex
CREATE INDEX "polykomos_databases_owner_id_created_at_idx" ON "polykomos_databases"("owner_id", "created_at");
