import path from 'node:path';
import { defineModule } from '../../core/module.ts';
import { ActivityLog, ActivityReader } from './activity.ts';
import { parseAgentToolsConfig } from './agent-tools.config.ts';
import { ChannelAdapters } from './channel-adapter.ts';
import { ChannelService } from './channels.service.ts';
import { McpServerService } from './mcp.service.ts';
import { SkillService } from './skills.service.ts';
import { SlackAdapter } from './slack.ts';
import { TelegramAdapter } from './telegram.ts';
import { ToolService } from './tools.service.ts';
import { WorkspaceService } from './workspace.service.ts';

/** GoClaw's tool catalogue: MCP servers, custom and built-in tools, skills, and the activity log of their writes. */
export interface AgentTools {
  mcp: McpServerService;
  tools: ToolService;
  skills: SkillService;
  channels: ChannelService;
  workspace: WorkspaceService;
  activity: ActivityLog;
  reader: ActivityReader;
  /** The Telegram and Slack adapters (channel instances served for real). */
  adapters: ChannelAdapters;
}

declare module '../../core/module.ts' {
  interface ModuleServices {
    agenttools: AgentTools;
  }
}

export const agentToolsModule = defineModule({
  name: 'agenttools',
  description:
    'GoClaw tools: MCP servers, custom JS tools (mcp-v8 sandbox), built-in tools, skills, channels, media, workspace, activity',
  needs: ['runtime'],
  config: parseAgentToolsConfig,
  create: ({ core, config, modules }): AgentTools => {
    const { prisma, db, secrets: box, outbound, objectStore, pubsub } = core;
    const activity = new ActivityLog(prisma);
    const adapterDeps = {
      prisma,
      box,
      outbound,
      logger: core.logger,
      instanceId: core.config.instanceId,
      enabled: config.channelAdapters,
    };
    return {
      mcp: new McpServerService({ prisma, box, outbound, config, activity }),
      tools: new ToolService({ prisma, box, pubsub, runtime: modules.runtime, activity }),
      skills: new SkillService({ prisma, objectStore, config, activity }),
      channels: new ChannelService({ prisma, box, activity }),
      workspace: new WorkspaceService({
        prisma,
        db,
        objectStore,
        activity,
        workspaceDir: config.workspaceDir ?? path.join(core.config.dataDir, 'goclaw-workspace'),
        startedAt: Date.now(),
      }),
      activity,
      reader: new ActivityReader(prisma),
      adapters: new ChannelAdapters({
        telegram: new TelegramAdapter(adapterDeps, config.telegram),
        slack: new SlackAdapter(adapterDeps, config.slack),
      }),
    };
  },
  start: (tools) => tools.adapters.start(),
  close: (tools) => tools.adapters.close(),
  graphql: () => import('./graphql/index.ts'),
});
