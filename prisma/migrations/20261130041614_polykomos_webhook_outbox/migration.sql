-- AlterTable
ALTER TABLE "polykomos_webhook_deliveries" ADD COLUMN     "leased_until" TIMESTAMPTZ(3),
ADD COLUMN     "next_attempt_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "polykomos_webhook_events" (
    "id" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "fanned_out_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "polykomos_webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "polykomos_webhook_events_fanned_out_at_created_at_idx" ON "polykomos_webhook_events"("fanned_out_at", "created_at");

-- CreateIndex
CREATE INDEX "polykomos_webhook_deliveries_status_next_attempt_at_idx" ON "polykomos_webhook_deliveries"("status", "next_attempt_at");
