-- CreateTable
CREATE TABLE "athena_sessions" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "athena_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "athena_sessions_token_hash_key" ON "athena_sessions"("token_hash");

-- CreateIndex
CREATE INDEX "athena_sessions_client_name_user_id_idx" ON "athena_sessions"("client_name", "user_id");
