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
      const items = await agentTools.tools.runnableCustom(ctx.principal, ctx.agentId);
      return items.map(
        (t): GoClawTool => ({
          name: t.name,
          description: t.description,
          parameters: t.parameters as Record<string, unknown>,
          execute: async (args, run) =>
            JSON.stringify(
              (await agentTools.tools.runCustomTool(run.principal, { id: t.id, args, signal: run.signal })).result ??
                null,
            ),
        }),
      );
    },
  };
}

/*
 * The MCP servers granted to the run's agent (`McpServerService.agentTools`): each server's `tools/list` at the
 * start of the run, filtered by the grant's allow/deny lists, named `mcpToolName` (the server's prefix, else
 * `mcp_<server>__`); a call is `tools/call` on that server with the tool's own name. A result the server flags
 * `isError` is an error result for the model. Runs without an agent get none.
 */
export function mcpToolSource(agentTools: AgentTools): ToolSource {
  return {
    name: 'agenttools.mcp',
    async tools(ctx) {
      if (!ctx.agentId) return [];
      const { tools } = await agentTools.mcp.agentTools(ctx.principal, ctx.agentId);
      return tools.map(
        (t): GoClawTool => ({
          name: t.name,
          description: t.description ?? `${t.toolName} (MCP server ${t.server})`,
          parameters:
            t.inputSchema && typeof t.inputSchema === 'object'
              ? (t.inputSchema as Record<string, unknown>)
              : { type: 'object', properties: {} },
          execute: async (args, run) => {
            const res = await t.call(args, run.signal);
            if (res.isError) throw new Error(res.text || `${t.toolName} failed`);
            return res.text;
          },
        }),
      );
    },
  };
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const maxSkillDescription = 200;

/*
 * The skills granted to the run's agent, as upstream GoClaw offers them: a "Skills" section in the system prompt
 * listing each active granted skill (`<available_skills>`: name, description, slug), and a `read_skill` tool that
 * returns one of those skills' SKILL.md (from its stored ZIP) for the model to follow. Denying `read_skill` in the
 * agent's tools_config removes both. No granted skills: nothing is offered.
 */
export function skillToolSource(agentTools: AgentTools): ToolSource {
  return {
    name: 'agenttools.skills',
    async tools(ctx) {
      if (!ctx.agentId) return [];
      const agentId = ctx.agentId;
      const skills = await agentTools.skills.agentSkills(ctx.principal, agentId);
      if (skills.length === 0) return [];
      const list = skills.map((s) => {
        const desc =
          s.description.length > maxSkillDescription
            ? `${s.description.slice(0, maxSkillDescription)}…`
            : s.description;
        return `  <skill>\n    <name>${xml(s.name)}</name>\n    <description>${xml(desc)}</description>\n    <slug>${xml(s.slug)}</slug>\n  </skill>`;
      });
      return [
        {
          name: 'read_skill',
          description: "Returns a skill's SKILL.md instructions (one of the skills listed in the system prompt).",
          parameters: {
            type: 'object',
            properties: { slug: { type: 'string', enum: skills.map((s) => s.slug), description: 'The skill.' } },
            required: ['slug'],
          },
          instructions: [
            '## Skills',
            '',
            'Before replying, scan `<available_skills>` below.',
            'If a skill clearly applies, read its SKILL.md with `read_skill` (its slug), then follow it.',
            'If several could apply, choose the most specific one. Never read more than one skill up front.',
            'If none apply, proceed normally.',
            '',
            '<available_skills>',
            ...list,
            '</available_skills>',
          ].join('\n'),
          execute: async (args, run) => {
            if (typeof args.slug !== 'string' || args.slug === '') throw new Error('slug must be a skill slug');
            return (await agentTools.skills.agentSkillMd(run.principal, agentId, args.slug)).md;
          },
        },
      ];
    },
  };
}
