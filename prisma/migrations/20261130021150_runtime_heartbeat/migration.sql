-- DropIndex
DROP INDEX "executions_status_idx";

-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "executions_status_heartbeat_at_idx" ON "executions"("status", "heartbeat_at");
