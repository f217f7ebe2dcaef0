-- The Idempotency-Key store moves from Polykomos to the REST engine: any surface's operation can ask for it.
-- Records are scoped per principal (`apikey:<id>`) instead of per Polykomos API key id, keeping the data.
ALTER TABLE "polykomos_idempotency_records" RENAME TO "idempotency_records";
ALTER TABLE "idempotency_records" RENAME CONSTRAINT "polykomos_idempotency_records_pkey" TO "idempotency_records_pkey";
ALTER TABLE "idempotency_records" RENAME COLUMN "api_key_id" TO "principal_id";
UPDATE "idempotency_records" SET "principal_id" = 'apikey:' || "principal_id";
ALTER INDEX "polykomos_idempotency_records_expires_at_idx" RENAME TO "idempotency_records_expires_at_idx";
ALTER INDEX "polykomos_idempotency_records_api_key_id_key_key" RENAME TO "idempotency_records_principal_id_key_key";
