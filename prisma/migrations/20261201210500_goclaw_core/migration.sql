-- CreateTable
CREATE TABLE "goclaw_providers" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "display_name" TEXT NOT NULL DEFAULT '',
    "provider_type" TEXT NOT NULL,
    "api_base" TEXT NOT NULL DEFAULT '',
    "api_key_enc" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_providers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_agents" (
    "id" UUID NOT NULL,
    "agent_key" TEXT NOT NULL,
    "display_name" TEXT NOT NULL DEFAULT '',
    "agent_type" TEXT NOT NULL DEFAULT 'open',
    "description" TEXT NOT NULL DEFAULT '',
    "provider" TEXT NOT NULL DEFAULT '',
    "model" TEXT NOT NULL DEFAULT '',
    "system_prompt" TEXT NOT NULL DEFAULT '',
    "owner_id" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "max_tool_iterations" INTEGER NOT NULL DEFAULT 20,
    "tools_config" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "goclaw_agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_traces" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "agent_id" UUID,
    "user_id" TEXT NOT NULL DEFAULT '',
    "session_key" TEXT NOT NULL DEFAULT '',
    "name" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "provider" TEXT NOT NULL DEFAULT '',
    "model" TEXT NOT NULL DEFAULT '',
    "input_preview" TEXT NOT NULL DEFAULT '',
    "output_preview" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL,
    "error" TEXT,
    "start_time" TIMESTAMPTZ(3) NOT NULL,
    "end_time" TIMESTAMPTZ(3),
    "duration_ms" INTEGER NOT NULL DEFAULT 0,
    "input_tokens" INTEGER NOT NULL DEFAULT 0,
    "output_tokens" INTEGER NOT NULL DEFAULT 0,
    "total_cost" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "span_count" INTEGER NOT NULL DEFAULT 0,
    "llm_call_count" INTEGER NOT NULL DEFAULT 0,
    "tool_call_count" INTEGER NOT NULL DEFAULT 0,
    "created_by" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "goclaw_traces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_spans" (
    "id" UUID NOT NULL,
    "trace_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "parent_span_id" UUID,
    "span_type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "model" TEXT NOT NULL DEFAULT '',
    "provider" TEXT NOT NULL DEFAULT '',
    "input_tokens" INTEGER NOT NULL DEFAULT 0,
    "output_tokens" INTEGER NOT NULL DEFAULT 0,
    "cost" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "finish_reason" TEXT NOT NULL DEFAULT '',
    "tool_name" TEXT NOT NULL DEFAULT '',
    "tool_call_id" TEXT NOT NULL DEFAULT '',
    "input_preview" TEXT NOT NULL DEFAULT '',
    "output_preview" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL,
    "error" TEXT,
    "start_time" TIMESTAMPTZ(3) NOT NULL,
    "end_time" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "goclaw_spans_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "goclaw_run_events" (
    "run_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "goclaw_run_events_pkey" PRIMARY KEY ("run_id","seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_providers_name_key" ON "goclaw_providers"("name");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_agents_agent_key_key" ON "goclaw_agents"("agent_key");

-- CreateIndex
CREATE INDEX "goclaw_agents_owner_id_idx" ON "goclaw_agents"("owner_id");

-- CreateIndex
CREATE UNIQUE INDEX "goclaw_traces_run_id_key" ON "goclaw_traces"("run_id");

-- CreateIndex
CREATE INDEX "goclaw_traces_start_time_idx" ON "goclaw_traces"("start_time" DESC);

-- CreateIndex
CREATE INDEX "goclaw_traces_agent_id_start_time_idx" ON "goclaw_traces"("agent_id", "start_time" DESC);

-- CreateIndex
CREATE INDEX "goclaw_spans_trace_id_seq_idx" ON "goclaw_spans"("trace_id", "seq");

-- AddForeignKey
ALTER TABLE "goclaw_spans" ADD CONSTRAINT "goclaw_spans_trace_id_fkey" FOREIGN KEY ("trace_id") REFERENCES "goclaw_traces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "goclaw_run_events" ADD CONSTRAINT "goclaw_run_events_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "goclaw_traces"("run_id") ON DELETE CASCADE ON UPDATE CASCADE;
