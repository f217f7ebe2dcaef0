import path from 'node:path';
import type { EnvReader } from '../../core/config.ts';
import type { SlackAdapterConfig } from './slack.ts';
import type { TelegramAdapterConfig } from './telegram.ts';

export interface AgentToolsConfig {
  /**
   * Absolute paths of the executables stdio MCP servers may run (ATRIUM_GOCLAW_MCP_STDIO_COMMANDS, comma
   * separated). Empty (the default): stdio servers are refused, since a command runs on the host.
   */
  mcpStdioCommands: string[];
  /** Largest skill ZIP accepted, and the bound on its uncompressed contents (bytes; default 50 MiB). */
  maxSkillZipBytes: number;
  maxSkillUnzippedBytes: number;
  /** The directory `GET /v1/storage/files` lists (ATRIUM_GOCLAW_WORKSPACE; default `<data dir>/goclaw-workspace`). */
  workspaceDir: string | undefined;
  telegram: TelegramAdapterConfig;
  slack: SlackAdapterConfig;
  /** Whether channel adapters run at all (ATRIUM_GOCLAW_CHANNEL_ADAPTERS, default true). */
  channelAdapters: boolean;
}

export function parseAgentToolsConfig(env: EnvReader): AgentToolsConfig {
  const raw = env.str('ATRIUM_GOCLAW_MCP_STDIO_COMMANDS') ?? '';
  const commands = raw
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  for (const c of commands) {
    if (!path.isAbsolute(c)) env.problem(`ATRIUM_GOCLAW_MCP_STDIO_COMMANDS: "${c}" must be an absolute path`);
  }
  return {
    mcpStdioCommands: commands,
    maxSkillZipBytes: 20 * 1024 * 1024,
    maxSkillUnzippedBytes: env.int(
      'ATRIUM_GOCLAW_SKILL_MAX_UNZIPPED_BYTES',
      50 * 1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
    workspaceDir: env.str('ATRIUM_GOCLAW_WORKSPACE') || undefined,
    telegram: {
      apiBase: env.url('ATRIUM_GOCLAW_TELEGRAM_API_BASE', ['http:', 'https:']) ?? 'https://api.telegram.org',
      pollTimeoutSecs: env.int('ATRIUM_GOCLAW_TELEGRAM_POLL_TIMEOUT_SECS', 25, 0, 50),
    },
    slack: { apiBase: env.url('ATRIUM_GOCLAW_SLACK_API_BASE', ['http:', 'https:']) ?? 'https://slack.com/api' },
    channelAdapters: env.bool('ATRIUM_GOCLAW_CHANNEL_ADAPTERS', true),
  };
}
