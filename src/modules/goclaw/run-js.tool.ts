import type { AgentTools } from '../agent-tools/module.ts';
import type { GoClawTool, ToolSource } from './tools.ts';

/*
 * `run_js`: the platform's JavaScript executor (the mcp-v8 runtime: isolated-vm in the sandbox worker pool, with
 * its limits) offered to agents as a tool. It runs through agenttools' `ToolService.runInSandbox` — the one
 * sandbox call GoClaw has, shared with custom tools and the direct `runGoClawJs` — as the run's principal;
 * aborting the agent run cancels the execution. The model gets the status, the result and the console output.
 * Whether it is offered, and its limits (`timeout_seconds`, `heap_memory_max_mb`), are the built-in tool's
 * settings (`PUT /v1/tools/builtin/run_js`). A failure to read those settings fails the run (never a silent
 * "not offered").
 */

const maxOutputBytes = 16 * 1024;
/** The most a run may ask for, whatever the setting says. */
const ceilingSecs = 60;

const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

export function runJsToolSource(agentTools: AgentTools): ToolSource {
  const tool = (maxTimeout: number, heapMb: number | undefined): GoClawTool => ({
    name: 'run_js',
    description:
      'Runs JavaScript or TypeScript in an isolated sandbox (no network, no host access) and returns its status, ' +
      'the value of the last expression (result), and console output.',
    parameters: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'The script.' },
        timeout_secs: {
          type: 'integer',
          minimum: 1,
          maximum: maxTimeout,
          description: `Wall-clock limit (default ${Math.min(10, maxTimeout)}).`,
        },
      },
      required: ['code'],
    },
    async execute(args, ctx) {
      if (typeof args.code !== 'string' || args.code.trim() === '') throw new Error('code must be a non-empty string');
      const timeout = Number.isInteger(args.timeout_secs)
        ? Math.min(maxTimeout, Math.max(1, args.timeout_secs as number))
        : Math.min(10, maxTimeout);
      const run = await agentTools.tools.runInSandbox(ctx.principal, {
        label: 'run_js',
        code: args.code,
        timeoutSecs: timeout,
        heapMb: heapMb ?? null,
        signal: ctx.signal,
        outputBytes: maxOutputBytes,
      });
      return JSON.stringify({
        status: run.status,
        result: run.result,
        error: run.error,
        output: run.output,
        ...(run.outputTruncated ? { output_truncated: true } : {}),
      });
    },
  });
  return {
    name: 'runtime',
    tools: async ({ principal }) => {
      const settings = await agentTools.tools.getBuiltin(principal, 'run_js');
      if (!settings.enabled) return [];
      const configured = positiveInt(settings.settings.timeout_seconds);
      return [
        tool(
          configured ? Math.min(configured, ceilingSecs) : ceilingSecs,
          positiveInt(settings.settings.heap_memory_max_mb),
        ),
      ];
    },
  };
}
