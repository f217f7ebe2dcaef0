-- CreateTable
CREATE TABLE "goclaw_mcp_agent_grants" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "agent_id" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "tool_allow" TEXT[],
    "tool_deny" TEXT[],
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_mcp_agent_grants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_skill_grants" (
    "id" UUID NOT NULL,
    "skill_id" UUID NOT NULL,
    "agent_id" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_skill_grants_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "goclaw_mcp_agent_grants_agent_id_idx" ON "goclaw_mcp_agent_grants"("agent_id");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_mcp_agent_grants_server_id_agent_id_key" ON "goclaw_mcp_agent_grants"("server_id", "agent_id");

-- CreateIndex
CREATE INDEX "goclaw_skill_grants_agent_id_idx" ON "goclaw_skill_grants"("agent_id");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_skill_grants_skill_id_agent_id_key" ON "goclaw_skill_grants"("skill_id", "agent_id");

-- AddForeignKey
ALTER TABLE "goclaw_mcp_agent_grants" ADD CONSTRAINT "goclaw_mcp_agent_grants_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "goclaw_mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_skill_grants" ADD CONSTRAINT "goclaw_skill_grants_skill_id_fkey" FOREIGN KEY ("skill_id") REFERENCES "goclaw_skills"("id") ON DELETE CASCADE ON UPDATE CASCADE;
