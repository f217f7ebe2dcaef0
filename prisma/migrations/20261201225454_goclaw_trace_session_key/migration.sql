-- CreateIndex
CREATE INDEX "goclaw_traces_session_key_start_time_idx" ON "goclaw_traces"("session_key", "start_time" DESC);
