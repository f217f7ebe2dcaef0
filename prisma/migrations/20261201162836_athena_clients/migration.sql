-- CreateEnum
CREATE TYPE "AthenaClientSource" AS ENUM ('catalog', 'config', 'provisioned', 'embedded');

-- CreateTable
CREATE TABLE "athena_clients" (
    "id" UUID NOT NULL,
    "client_name" TEXT NOT NULL,
    "description" TEXT,
    "pg_uri_enc" TEXT,
    "pg_uri_env_var" TEXT,
    "config_uri_template" TEXT,
    "source" "AthenaClientSource" NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "is_frozen" BOOLEAN NOT NULL DEFAULT false,
    "polykomos_database_uuid" UUID,
    "last_synced_from_config_at" TIMESTAMPTZ(3),
    "last_seen_at" TIMESTAMPTZ(3),
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "athena_clients_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_client_configs" (
    "client_name" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_client_configs_pkey" PRIMARY KEY ("client_name")
);

-- CreateTable
CREATE TABLE "athena_public_routes" (
    "id" UUID NOT NULL,
    "route_key" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "allowed_ops" TEXT[],
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_public_routes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_service_routes" (
    "id" UUID NOT NULL,
    "route_key" TEXT NOT NULL,
    "service_key" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "upstream_url" TEXT NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_service_routes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_tenant_hostnames" (
    "id" UUID NOT NULL,
    "tenant" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "allowed_ops" TEXT[],
    "enable_http_route" BOOLEAN NOT NULL DEFAULT true,
    "enable_postgres_binding" BOOLEAN NOT NULL DEFAULT false,
    "public_host" TEXT,
    "public_port" INTEGER,
    "route_metadata" JSONB NOT NULL DEFAULT '{}',
    "persist_in_catalog" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_tenant_hostnames_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_deferred_requests" (
    "id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "error" TEXT,
    "actor" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "requeued_at" TIMESTAMPTZ(3),

    CONSTRAINT "athena_deferred_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_ddl_audit" (
    "id" UUID NOT NULL,
    "client_name" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "object_type" TEXT NOT NULL,
    "schema_name" TEXT NOT NULL,
    "object_name" TEXT NOT NULL,
    "ddl" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "request_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "athena_ddl_audit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_api_registry" (
    "id" UUID NOT NULL,
    "api_registry_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "base_url" TEXT,
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_api_registry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "athena_clients_client_name_idx" ON "athena_clients"("client_name");

-- CreateIndex
CREATE INDEX "athena_clients_created_at_id_idx" ON "athena_clients"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "athena_public_routes_route_key_key" ON "athena_public_routes"("route_key");

-- CreateIndex
CREATE UNIQUE INDEX "athena_service_routes_route_key_service_key_key" ON "athena_service_routes"("route_key", "service_key");

-- CreateIndex
CREATE UNIQUE INDEX "athena_tenant_hostnames_tenant_key" ON "athena_tenant_hostnames"("tenant");

-- CreateIndex
CREATE UNIQUE INDEX "athena_deferred_requests_request_id_key" ON "athena_deferred_requests"("request_id");

-- CreateIndex
CREATE INDEX "athena_deferred_requests_status_created_at_idx" ON "athena_deferred_requests"("status", "created_at");

-- CreateIndex
CREATE INDEX "athena_ddl_audit_client_name_created_at_idx" ON "athena_ddl_audit"("client_name", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "athena_api_registry_api_registry_id_key" ON "athena_api_registry"("api_registry_id");

-- A client name is unique among clients that are not deleted (soft delete frees the name)
CREATE UNIQUE INDEX "athena_clients_live_name_key" ON "athena_clients"("client_name") WHERE "deleted_at" IS NULL;
