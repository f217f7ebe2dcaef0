-- CreateTable
CREATE TABLE "polykomos_blueprint_applications" (
    "id" SERIAL NOT NULL,
    "owner_id" TEXT NOT NULL,
    "blueprint_id" INTEGER NOT NULL,
    "blueprint_version" INTEGER NOT NULL,
    "database_id" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "is_dry_run" BOOLEAN NOT NULL,
    "execution_log" JSONB,
    "total_duration_ms" INTEGER,
    "statements_total" INTEGER NOT NULL,
    "statements_succeeded" INTEGER NOT NULL DEFAULT 0,
    "statements_failed" INTEGER NOT NULL DEFAULT 0,
    "error_message" TEXT,
    "variable_values" JSONB,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "polykomos_blueprint_applications_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "polykomos_blueprint_applications_database_id_created_at_idx" ON "polykomos_blueprint_applications"("database_id", "created_at");
