-- CreateTable
CREATE TABLE "polykomos_query_executions" (
    "id" SERIAL NOT NULL,
    "owner_id" TEXT NOT NULL,
    "database_id" INTEGER NOT NULL,
    "api_key_id" UUID,
    "natural_query" TEXT NOT NULL,
    "generated_sql" TEXT,
    "status" TEXT NOT NULL,
    "result_type" TEXT,
    "row_count" INTEGER,
    "truncated" BOOLEAN,
    "max_rows" INTEGER NOT NULL,
    "error_code" TEXT,
    "error_message" TEXT,
    "retry_after_seconds" INTEGER,
    "llm_provider" TEXT NOT NULL,
    "llm_model" TEXT NOT NULL,
    "input_tokens" INTEGER NOT NULL DEFAULT 0,
    "output_tokens" INTEGER NOT NULL DEFAULT 0,
    "trace_id" UUID,
    "duration_ms" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "polykomos_query_executions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "polykomos_query_executions_database_id_id_idx" ON "polykomos_query_executions"("database_id", "id");

-- CreateIndex
CREATE INDEX "polykomos_query_executions_owner_id_id_idx" ON "polykomos_query_executions"("owner_id", "id");
