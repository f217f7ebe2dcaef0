-- CreateTable
CREATE TABLE "polykomos_blueprints" (
    "id" SERIAL NOT NULL,
    "uuid" UUID NOT NULL,
    "owner_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "description" TEXT,
    "sql_content" TEXT NOT NULL,
    "variables" JSONB,
    "metadata" JSONB,
    "version" INTEGER NOT NULL DEFAULT 1,
    "size_bytes" INTEGER NOT NULL,
    "is_system_blueprint" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "polykomos_blueprints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "polykomos_blueprint_versions" (
    "id" SERIAL NOT NULL,
    "blueprint_id" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "sql_content" TEXT NOT NULL,
    "variables" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "polykomos_blueprint_versions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "polykomos_blueprints_uuid_key" ON "polykomos_blueprints"("uuid");

-- CreateIndex
CREATE INDEX "polykomos_blueprints_owner_id_created_at_idx" ON "polykomos_blueprints"("owner_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "polykomos_blueprints_owner_id_slug_key" ON "polykomos_blueprints"("owner_id", "slug");

-- CreateIndex
CREATE UNIQUE INDEX "polykomos_blueprint_versions_blueprint_id_version_key" ON "polykomos_blueprint_versions"("blueprint_id", "version");

-- AddForeignKey
ALTER TABLE "polykomos_blueprint_versions" ADD CONSTRAINT "polykomos_blueprint_versions_blueprint_id_fkey" FOREIGN KEY ("blueprint_id") REFERENCES "polykomos_blueprints"("id") ON DELETE CASCADE ON UPDATE CASCADE;
