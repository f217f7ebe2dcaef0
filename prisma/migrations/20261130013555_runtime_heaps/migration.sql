-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "heap_in" TEXT,
ADD COLUMN     "heap_out" TEXT,
ADD COLUMN     "session" TEXT;

-- CreateTable
CREATE TABLE "heap_snapshots" (
    "tenant" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "parent_key" TEXT,
    "produced_by_execution_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "heap_snapshots_pkey" PRIMARY KEY ("tenant","key")
);

-- CreateTable
CREATE TABLE "heap_tags" (
    "tenant" TEXT NOT NULL,
    "heap_key" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "heap_tags_pkey" PRIMARY KEY ("tenant","heap_key","key")
);

-- CreateTable
CREATE TABLE "session_log_entries" (
    "id" UUID NOT NULL,
    "tenant" TEXT NOT NULL,
    "session" TEXT NOT NULL,
    "execution_id" UUID NOT NULL,
    "input_heap" TEXT,
    "output_heap" TEXT,
    "output_fs" TEXT,
    "code_ref" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_log_entries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "heap_tags_tenant_key_value_idx" ON "heap_tags"("tenant", "key", "value");

-- CreateIndex
CREATE INDEX "session_log_entries_tenant_session_created_at_idx" ON "session_log_entries"("tenant", "session", "created_at");

-- AddForeignKey
ALTER TABLE "heap_tags" ADD CONSTRAINT "heap_tags_tenant_heap_key_fkey" FOREIGN KEY ("tenant", "heap_key") REFERENCES "heap_snapshots"("tenant", "key") ON DELETE CASCADE ON UPDATE CASCADE;
