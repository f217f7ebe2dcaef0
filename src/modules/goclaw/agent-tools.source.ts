import type { AgentTools } from '../agent-tools/module.ts';
import type { GoClawTool, ToolSource } from './tools.ts';

/*
 * The agentTools module's custom tools offered to agent runs: every enabled tool that is global or scoped to the
 * run's agent, executed through `ToolService.runCustomTool` (arguments checked against its parameters, the body
 * run in the mcp-v8 sandbox as the run's principal). The tool's JSON value goes back to the model.
 */
export function customToolSource(agentTools: AgentTools): ToolSource {
  return {
    name: 'agenttools.custom',
    async tools(ctx) {
      const { items } = await agentTools.tools.listCustom(ctx.principal, { take: 200, offset: 0 });
      return items
        .filter((t) => t.enabled && (t.agentId === null || t.agentId === ctx.agentId))
        .map(
          (t): GoClawTool => ({
            name: t.name,
            description: t.description,
            parameters: t.parameters as Record<string, unknown>,
            execute: async (args, run) =>
              JSON.stringify((await agentTools.tools.runCustomTool(run.principal, { id: t.id, args })).result ?? null),
          }),
        );
    },
  };
}
