-- The webhook engine moves out of Polykomos into the shared `webhooks` module (docs/webhooks.md). The tables are
-- renamed with their rows (never dropped), and existing endpoints and events belong to the product `polykomos`.

-- RenameTables
ALTER TABLE "polykomos_webhook_endpoints" RENAME TO "webhook_endpoints";
ALTER TABLE "polykomos_webhook_deliveries" RENAME TO "webhook_deliveries";
ALTER TABLE "polykomos_webhook_events" RENAME TO "webhook_events";

-- RenameSequences
ALTER SEQUENCE "polykomos_webhook_endpoints_id_seq" RENAME TO "webhook_endpoints_id_seq";
ALTER SEQUENCE "polykomos_webhook_deliveries_id_seq" RENAME TO "webhook_deliveries_id_seq";

-- RenameConstraints
ALTER TABLE "webhook_endpoints" RENAME CONSTRAINT "polykomos_webhook_endpoints_pkey" TO "webhook_endpoints_pkey";
ALTER TABLE "webhook_deliveries" RENAME CONSTRAINT "polykomos_webhook_deliveries_pkey" TO "webhook_deliveries_pkey";
ALTER TABLE "webhook_events" RENAME CONSTRAINT "polykomos_webhook_events_pkey" TO "webhook_events_pkey";
ALTER TABLE "webhook_deliveries" RENAME CONSTRAINT "polykomos_webhook_deliveries_endpoint_id_fkey" TO "webhook_deliveries_endpoint_id_fkey";

-- RenameIndexes
ALTER INDEX "polykomos_webhook_deliveries_endpoint_id_created_at_id_idx" RENAME TO "webhook_deliveries_endpoint_id_created_at_id_idx";
ALTER INDEX "polykomos_webhook_events_fanned_out_at_created_at_idx" RENAME TO "webhook_events_fanned_out_at_created_at_idx";

-- Endpoints and events name their product.
ALTER TABLE "webhook_endpoints" ADD COLUMN "product" TEXT NOT NULL DEFAULT 'polykomos';
ALTER TABLE "webhook_events" ADD COLUMN "product" TEXT NOT NULL DEFAULT 'polykomos';
DROP INDEX "polykomos_webhook_endpoints_owner_id_created_at_id_idx";
CREATE INDEX "webhook_endpoints_product_owner_id_created_at_id_idx" ON "webhook_endpoints"("product", "owner_id", "created_at" DESC, "id" DESC);

-- Deliveries run as durable jobs: the lease and schedule columns of the old delivery loop go, the job id comes.
DROP INDEX "polykomos_webhook_deliveries_status_next_attempt_at_idx";
ALTER TABLE "webhook_deliveries" DROP COLUMN "leased_until",
DROP COLUMN "next_attempt_at",
ADD COLUMN "job_id" UUID;
