-- Key controls move from Polykomos to the access module (docs/access.md) with their rows: the controls table and
-- the usage counters are renamed, and the Polykomos user identity of a key moves to its own table (copied, then its
-- columns leave the controls table).

-- RenameTables
ALTER TABLE "polykomos_key_controls" RENAME TO "api_key_controls";
ALTER TABLE "api_key_controls" RENAME CONSTRAINT "polykomos_key_controls_pkey" TO "api_key_controls_pkey";
ALTER TABLE "polykomos_usage_counters" RENAME TO "api_key_usage_counters";
ALTER TABLE "api_key_usage_counters" RENAME CONSTRAINT "polykomos_usage_counters_pkey" TO "api_key_usage_counters_pkey";

-- CreateTable
CREATE TABLE "polykomos_key_owners" (
    "api_key_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "user_name" TEXT NOT NULL,
    "user_email" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "polykomos_key_owners_pkey" PRIMARY KEY ("api_key_id")
);

-- CopyOwners
INSERT INTO "polykomos_key_owners" ("api_key_id", "user_id", "user_name", "user_email", "created_at", "updated_at")
SELECT "api_key_id", "user_id", "user_name", "user_email", "created_at", "updated_at" FROM "api_key_controls";

-- AlterTable
ALTER TABLE "api_key_controls" DROP COLUMN "user_id",
DROP COLUMN "user_name",
DROP COLUMN "user_email",
ALTER COLUMN "requests_per_minute" DROP NOT NULL,
ALTER COLUMN "requests_per_minute" DROP DEFAULT;
