-- AlterTable
ALTER TABLE "goclaw_agents" ADD COLUMN     "memory_config" JSONB NOT NULL DEFAULT '{}';

-- CreateTable
CREATE TABLE "goclaw_memory_documents" (
    "id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL DEFAULT '',
    "path" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_memory_documents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_memory_chunks" (
    "id" UUID NOT NULL,
    "document_id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL DEFAULT '',
    "start_line" INTEGER NOT NULL,
    "end_line" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "tsv" tsvector,
    "embedding_model" TEXT NOT NULL DEFAULT '',
    "embedding" REAL[],
    "embedding_norm" REAL NOT NULL DEFAULT 0,
    "dims" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "goclaw_memory_chunks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_kg_entities" (
    "id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL DEFAULT '',
    "external_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "entity_type" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "properties" JSONB NOT NULL DEFAULT '{}',
    "source_id" TEXT NOT NULL DEFAULT '',
    "confidence" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_kg_entities_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_kg_relations" (
    "id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "source_entity_id" UUID NOT NULL,
    "relation_type" TEXT NOT NULL,
    "target_entity_id" UUID NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_kg_relations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "goclaw_memory_documents_updated_at_idx" ON "goclaw_memory_documents"("updated_at");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_memory_documents_agent_id_user_id_path_key" ON "goclaw_memory_documents"("agent_id", "user_id", "path");

-- CreateIndex
CREATE INDEX "goclaw_memory_chunks_document_id_idx" ON "goclaw_memory_chunks"("document_id");

-- CreateIndex
CREATE INDEX "goclaw_memory_chunks_agent_id_user_id_idx" ON "goclaw_memory_chunks"("agent_id", "user_id");

-- CreateIndex
CREATE INDEX "goclaw_memory_chunks_tsv_idx" ON "goclaw_memory_chunks" USING GIN ("tsv");

-- CreateIndex
CREATE INDEX "goclaw_kg_entities_agent_id_entity_type_idx" ON "goclaw_kg_entities"("agent_id", "entity_type");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_kg_entities_agent_id_user_id_external_id_key" ON "goclaw_kg_entities"("agent_id", "user_id", "external_id");

-- CreateIndex
CREATE INDEX "goclaw_kg_relations_target_entity_id_idx" ON "goclaw_kg_relations"("target_entity_id");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_kg_relations_source_entity_id_relation_type_target_e_key" ON "goclaw_kg_relations"("source_entity_id", "relation_type", "target_entity_id");

-- AddForeignKey
ALTER TABLE "goclaw_memory_documents" ADD CONSTRAINT "goclaw_memory_documents_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "goclaw_agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_memory_chunks" ADD CONSTRAINT "goclaw_memory_chunks_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "goclaw_memory_documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_kg_entities" ADD CONSTRAINT "goclaw_kg_entities_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "goclaw_agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_kg_relations" ADD CONSTRAINT "goclaw_kg_relations_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "goclaw_agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_kg_relations" ADD CONSTRAINT "goclaw_kg_relations_source_entity_id_fkey" FOREIGN KEY ("source_entity_id") REFERENCES "goclaw_kg_entities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_kg_relations" ADD CONSTRAINT "goclaw_kg_relations_target_entity_id_fkey" FOREIGN KEY ("target_entity_id") REFERENCES "goclaw_kg_entities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
