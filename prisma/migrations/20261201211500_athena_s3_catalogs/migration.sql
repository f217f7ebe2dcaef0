-- CreateTable
CREATE TABLE "athena_s3_catalogs" (
    "id" UUID NOT NULL,
    "client_name" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "endpoint" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "bucket" TEXT,
    "provider" TEXT NOT NULL DEFAULT 's3',
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "athena_s3_catalogs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "athena_s3_credentials" (
    "id" UUID NOT NULL,
    "s3_id" UUID NOT NULL,
    "access_key" TEXT NOT NULL,
    "secret_key_enc" TEXT NOT NULL,
    "session_token_enc" TEXT,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "athena_s3_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "athena_s3_catalogs_client_name_deleted_at_idx" ON "athena_s3_catalogs"("client_name", "deleted_at");

-- CreateIndex
CREATE INDEX "athena_s3_credentials_s3_id_is_active_idx" ON "athena_s3_credentials"("s3_id", "is_active");

-- AddForeignKey
ALTER TABLE "athena_s3_credentials" ADD CONSTRAINT "athena_s3_credentials_s3_id_fkey" FOREIGN KEY ("s3_id") REFERENCES "athena_s3_catalogs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
