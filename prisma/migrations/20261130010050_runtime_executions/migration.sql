-- CreateEnum
CREATE TYPE "ExecutionStatus" AS ENUM ('running', 'completed', 'failed', 'cancelled', 'timed_out');

-- CreateTable
CREATE TABLE "executions" (
    "id" UUID NOT NULL,
    "tenant" TEXT NOT NULL,
    "status" "ExecutionStatus" NOT NULL DEFAULT 'running',
    "code_ref" TEXT NOT NULL,
    "source_lang" TEXT NOT NULL,
    "fs_handle" TEXT,
    "fs_out" TEXT,
    "heap_memory_max_mb" INTEGER NOT NULL,
    "timeout_secs" INTEGER NOT NULL,
    "result" TEXT,
    "error" TEXT,
    "owner_instance" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    "output_bytes" BIGINT NOT NULL DEFAULT 0,
    "output_lines" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "executions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "execution_output_chunks" (
    "execution_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "byte_start" BIGINT NOT NULL,
    "line_start" BIGINT NOT NULL,
    "byte_length" INTEGER NOT NULL,
    "line_count" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,

    CONSTRAINT "execution_output_chunks_pkey" PRIMARY KEY ("execution_id","seq")
);

-- CreateIndex
CREATE INDEX "executions_tenant_started_at_idx" ON "executions"("tenant", "started_at");

-- CreateIndex
CREATE INDEX "executions_status_idx" ON "executions"("status");

-- CreateIndex
CREATE INDEX "executions_completed_at_idx" ON "executions"("completed_at");

-- CreateIndex
CREATE INDEX "execution_output_chunks_execution_id_byte_start_idx" ON "execution_output_chunks"("execution_id", "byte_start");

-- CreateIndex
CREATE INDEX "execution_output_chunks_execution_id_line_start_idx" ON "execution_output_chunks"("execution_id", "line_start");

-- AddForeignKey
ALTER TABLE "execution_output_chunks" ADD CONSTRAINT "execution_output_chunks_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "executions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
