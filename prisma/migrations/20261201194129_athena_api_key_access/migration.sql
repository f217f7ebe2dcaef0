-- CreateEnum
CREATE TYPE "IpRuleKind" AS ENUM ('whitelist', 'blacklist');

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "description" TEXT,
ADD COLUMN     "is_active" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "public_id" TEXT;

-- CreateTable
CREATE TABLE "api_key_ip_policies" (
    "api_key_id" UUID NOT NULL,
    "virgin_mode" BOOLEAN NOT NULL DEFAULT false,
    "virgin_resolved" BOOLEAN NOT NULL DEFAULT false,
    "virgin_resolved_at" TIMESTAMPTZ(3),
    "virgin_until_n_requests" INTEGER NOT NULL DEFAULT 0,
    "virgin_request_count" INTEGER NOT NULL DEFAULT 0,
    "max_whitelist_ips" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "api_key_ip_policies_pkey" PRIMARY KEY ("api_key_id")
);

-- CreateTable
CREATE TABLE "api_key_ip_rules" (
    "id" UUID NOT NULL,
    "api_key_id" UUID NOT NULL,
    "kind" "IpRuleKind" NOT NULL,
    "addr" TEXT NOT NULL,
    "label" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_key_ip_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_key_ip_seen" (
    "id" UUID NOT NULL,
    "api_key_id" UUID NOT NULL,
    "addr" TEXT NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "hit_count" BIGINT NOT NULL DEFAULT 0,
    "locked_in" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "api_key_ip_seen_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ip_global_rules" (
    "id" UUID NOT NULL,
    "kind" "IpRuleKind" NOT NULL,
    "addr" TEXT NOT NULL,
    "client_name" TEXT NOT NULL DEFAULT '',
    "label" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ip_global_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_api_key_rights" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_api_key_rights_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_api_key_global_config" (
    "id" INTEGER NOT NULL,
    "enforce_api_keys" BOOLEAN NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_api_key_global_config_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_api_key_client_configs" (
    "client_name" TEXT NOT NULL,
    "enforce_api_keys" BOOLEAN NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_api_key_client_configs_pkey" PRIMARY KEY ("client_name")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_key_ip_rules_api_key_id_kind_addr_key" ON "api_key_ip_rules"("api_key_id", "kind", "addr");

-- CreateIndex
CREATE INDEX "api_key_ip_seen_api_key_id_last_seen_at_idx" ON "api_key_ip_seen"("api_key_id", "last_seen_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_key_ip_seen_api_key_id_addr_key" ON "api_key_ip_seen"("api_key_id", "addr");

-- CreateIndex
CREATE UNIQUE INDEX "ip_global_rules_kind_addr_client_name_key" ON "ip_global_rules"("kind", "addr", "client_name");

-- CreateIndex
CREATE UNIQUE INDEX "athena_api_key_rights_name_key" ON "athena_api_key_rights"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_public_id_key" ON "api_keys"("public_id");
