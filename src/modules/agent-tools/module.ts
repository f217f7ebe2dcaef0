import { defineModule } from '../../core/module.ts';
import { ActivityLog } from './activity.ts';
import { parseAgentToolsConfig } from './agent-tools.config.ts';
import { McpServerService } from './mcp.service.ts';
import { SkillService } from './skills.service.ts';
import { ToolService } from './tools.service.ts';

/** GoClaw's tool catalogue: MCP servers, custom and built-in tools, skills, and the activity log of their writes. */
export interface AgentTools {
  mcp: McpServerService;
  tools: ToolService;
  skills: SkillService;
  activity: ActivityLog;
}

declare module '../../core/module.ts' {
  interface ModuleServices {
    agenttools: AgentTools;
  }
}

export const agentToolsModule = defineModule({
  name: 'agenttools',
  description: 'GoClaw tools: MCP servers (MCP SDK), custom JavaScript tools (mcp-v8 sandbox), built-in tools, skills',
  needs: ['runtime'],
  config: parseAgentToolsConfig,
  create: ({ core, config, modules }): AgentTools => {
    const { prisma, secrets: box, outbound, objectStore, pubsub } = core;
    const activity = new ActivityLog(prisma);
    return {
      mcp: new McpServerService({ prisma, box, outbound, config, activity }),
      tools: new ToolService({ prisma, box, pubsub, runtime: modules.runtime, activity }),
      skills: new SkillService({ prisma, objectStore, config, activity }),
      activity,
    };
  },
  graphql: () => import('./graphql/index.ts'),
});
