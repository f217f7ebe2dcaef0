-- CreateEnum
CREATE TYPE "FsReflogOp" AS ENUM ('create', 'push', 'reset', 'force');

-- CreateTable
CREATE TABLE "fs_labels" (
    "tenant" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "head_ca_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "fs_labels_pkey" PRIMARY KEY ("tenant","name")
);

-- CreateTable
CREATE TABLE "fs_reflog" (
    "tenant" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "from_ca_id" TEXT,
    "to_ca_id" TEXT NOT NULL,
    "op" "FsReflogOp" NOT NULL,
    "message" TEXT,
    "actor" TEXT NOT NULL,

    CONSTRAINT "fs_reflog_pkey" PRIMARY KEY ("tenant","label","seq")
);
