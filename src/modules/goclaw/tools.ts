import type { Principal } from '../../core/auth/principal.ts';

/*
 * The tool registry the run loop reads. A source contributes tools per run (the agentTools module adds built-in,
 * custom, MCP and skill tools as sources); the agent's `tools_config` allow/deny lists then filter them by name.
 */

export interface ToolContext {
  principal: Principal;
  agentId: string | null;
  runId: string;
  userId: string;
  signal: AbortSignal;
}

export interface GoClawTool {
  /** Unique within a run: `^[a-zA-Z0-9_-]{1,64}$` (what every provider accepts). */
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
  /**
   * Text the run adds to its system prompt while this tool is offered (skills list themselves this way), after
   * the agent's own prompt.
   */
  instructions?: string;
  /** Runs the tool; the text goes back to the model. Throwing reports an error result (the run goes on). */
  execute(args: Record<string, unknown>, ctx: ToolContext): Promise<string>;
}

export interface ToolSource {
  name: string;
  tools(ctx: { principal: Principal; agentId: string | null }): Promise<GoClawTool[]> | GoClawTool[];
}

const toolName = /^[a-zA-Z0-9_-]{1,64}$/;

/** A tool source failed while a run assembled its tools. */
export class ToolSourceError extends Error {
  constructor(
    readonly source: string,
    override readonly cause: unknown,
  ) {
    super(`the tool source "${source}" failed`);
    this.name = 'ToolSourceError';
  }
}

export class ToolRegistry {
  private readonly sources: ToolSource[] = [];

  /** Adds a source; returns a function that removes it. */
  add(source: ToolSource): () => void {
    this.sources.push(source);
    return () => {
      const at = this.sources.indexOf(source);
      if (at !== -1) this.sources.splice(at, 1);
    };
  }

  /**
   * The tools a run offers: every source's, valid names only, first name wins, then allow/deny. A source that
   * fails fails the run's tool set (ToolSourceError naming it): a run never silently runs without its tools.
   */
  async forRun(
    ctx: { principal: Principal; agentId: string | null },
    config: { allow?: string[]; deny?: string[] },
  ): Promise<Map<string, GoClawTool>> {
    const out = new Map<string, GoClawTool>();
    // Sources are asked at once (each reads its own settings); their answers are merged in registration order.
    const answers = await Promise.all(
      this.sources.map(async (source) => {
        try {
          return await source.tools(ctx);
        } catch (err) {
          throw new ToolSourceError(source.name, err);
        }
      }),
    );
    for (const offered of answers) {
      for (const tool of offered) {
        if (!toolName.test(tool.name) || out.has(tool.name)) continue;
        if (config.allow && config.allow.length > 0 && !config.allow.includes(tool.name)) continue;
        if (config.deny?.includes(tool.name)) continue;
        out.set(tool.name, tool);
      }
    }
    return out;
  }
}
