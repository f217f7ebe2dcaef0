import type { AgentTools } from '../../agent-tools/module.ts';
import type { GoClawTool, ToolContext, ToolSource } from '../tools.ts';
import type { KgService } from './kg.service.ts';
import type { MemoryService } from './memory.service.ts';

/*
 * The agent's memory and knowledge graph as tools of its runs: `memory_search` (hybrid search), `memory_get` (lines
 * of one document), `memory_save` (write a document) and `knowledge_graph_search` (find entities, or walk from
 * one). They act on the run's agent, as the run's principal, with the run's user (their personal documents and
 * entities as well as the agent's); each is offered while its built-in tool is enabled in agenttools
 * (`/v1/tools/builtin/{name}`), whose settings give the defaults (`limit`, `max_depth`). Runs without an agent get
 * none of them.
 */

const maxGetLines = 400;

const str = (args: Record<string, unknown>, key: string, required = true): string | undefined => {
  const v = args[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw new Error(`${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new Error(`${key} must be a string`);
  return v;
};
const int = (args: Record<string, unknown>, key: string): number | undefined => {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${key} must be an integer`);
  return v;
};
const agentOf = (ctx: ToolContext): string => {
  if (!ctx.agentId) throw new Error('memory tools need an agent');
  return ctx.agentId;
};
const settingInt = (settings: Record<string, unknown> | undefined, key: string, fallback: number) => {
  const v = settings?.[key];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fallback;
};

export function memoryToolSource(memory: MemoryService, kg: KgService, agentTools: AgentTools): ToolSource {
  const tools: Record<string, (settings: Record<string, unknown> | undefined) => GoClawTool> = {
    memory_search: (settings) => ({
      name: 'memory_search',
      description:
        'Searches your memory documents (vector and full-text ranking) and returns the best line ranges with snippets.',
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'What to look for.' },
          limit: { type: 'integer', minimum: 1, maximum: 50, description: 'Most results (default from settings).' },
        },
        required: ['query'],
      },
      async execute(args, ctx) {
        const limit = Math.min(50, Math.max(1, int(args, 'limit') ?? settingInt(settings, 'limit', 10)));
        const found = await memory.search(ctx.principal, agentOf(ctx), {
          query: str(args, 'query') as string,
          limit,
          userId: ctx.userId || null,
        });
        return JSON.stringify({
          mode: found.mode,
          ...(found.note ? { note: found.note } : {}),
          results: found.results.map((h) => ({
            path: h.path,
            start_line: h.startLine,
            end_line: h.endLine,
            score: Number(h.score.toFixed(4)),
            source: h.sources.join('+'),
            snippet: h.snippet,
          })),
        });
      },
    }),
    memory_get: () => ({
      name: 'memory_get',
      description: 'Reads lines of one memory document (your personal one at that path first, else the agent’s).',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'The document’s path.' },
          from_line: { type: 'integer', minimum: 1, description: 'First line (default 1).' },
          lines: { type: 'integer', minimum: 1, maximum: maxGetLines, description: `Lines (default ${maxGetLines}).` },
        },
        required: ['path'],
      },
      async execute(args, ctx) {
        const doc = await memory.getDocument(ctx.principal, agentOf(ctx), str(args, 'path') as string, ctx.userId);
        const all = doc.content.split(/\r\n|\n|\r/);
        const from = Math.max(1, int(args, 'from_line') ?? 1);
        const count = Math.min(maxGetLines, Math.max(1, int(args, 'lines') ?? maxGetLines));
        const slice = all.slice(from - 1, from - 1 + count);
        return JSON.stringify({
          path: doc.path,
          from_line: from,
          to_line: from + slice.length - 1,
          total_lines: all.length,
          text: slice.join('\n'),
        });
      },
    }),
    memory_save: () => ({
      name: 'memory_save',
      description:
        'Writes a memory document (replacing the one at that path) and indexes it for memory_search; `personal` keeps it to the current user.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'The document’s path, e.g. notes/customer.md.' },
          content: { type: 'string', description: 'The whole text.' },
          personal: { type: 'boolean', description: 'Only for the current user (default false: the agent’s).' },
        },
        required: ['path', 'content'],
      },
      async execute(args, ctx) {
        const personal = args.personal === true;
        if (personal && !ctx.userId) throw new Error('personal memory needs a user');
        const saved = await memory.upsertDocument(ctx.principal, agentOf(ctx), {
          path: str(args, 'path') as string,
          content: typeof args.content === 'string' ? args.content : (str(args, 'content') as string),
          userId: personal ? ctx.userId : null,
        });
        return JSON.stringify({ path: saved.document.path, chunks: saved.chunks, indexed: saved.indexed });
      },
    }),
    knowledge_graph_search: (settings) => ({
      name: 'knowledge_graph_search',
      description:
        'Finds entities of your knowledge graph by name (query), or walks relations from one entity (entity_id).',
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'Part of an entity’s name, external id or description.' },
          entity_id: { type: 'string', description: 'Walk from this entity (uuid or external id).' },
          max_depth: { type: 'integer', minimum: 1, maximum: 3, description: 'Hops when walking.' },
        },
      },
      async execute(args, ctx) {
        const agent = agentOf(ctx);
        const start = str(args, 'entity_id', false);
        if (start) {
          const steps = await kg.traverse(ctx.principal, agent, {
            entityId: start,
            userId: ctx.userId || null,
            maxDepth: int(args, 'max_depth') ?? settingInt(settings, 'max_depth', 2),
          });
          return JSON.stringify(
            steps.map((s) => ({
              external_id: s.entity.externalId,
              name: s.entity.name,
              type: s.entity.entityType,
              depth: s.depth,
              via: s.via,
            })),
          );
        }
        const page = await kg.listEntities(ctx.principal, agent, {
          q: str(args, 'query', false) ?? null,
          userId: ctx.userId || null,
          limit: 20,
          offset: 0,
        });
        return JSON.stringify(
          page.items.map((e) => ({
            id: e.id,
            external_id: e.externalId,
            name: e.name,
            type: e.entityType,
            description: e.description,
          })),
        );
      },
    }),
  };
  return {
    name: 'memory',
    tools: async ({ principal, agentId }) => {
      if (!agentId) return [];
      // A settings read that fails fails the run's tool set (never a run silently without its memory tools).
      const settings = await Promise.all(
        Object.entries(tools).map(async ([name, make]) => ({
          make,
          builtin: await agentTools.tools.getBuiltin(principal, name),
        })),
      );
      return settings.filter((s) => s.builtin.enabled).map((s) => s.make(s.builtin.settings));
    },
  };
}
