import type { AppPubSub } from '../../core/pubsub.ts';
import type { AgentTools } from '../agent-tools/module.ts';
import type { RuntimeService } from '../runtime/runtime.service.ts';
import type { GoClawTool, ToolSource } from './tools.ts';

/*
 * `run_js`: the platform's JavaScript executor (the mcp-v8 runtime: isolated-vm in the sandbox worker pool, with
 * its limits) offered to agents as a tool. The execution runs as the run's principal; the tool waits for its
 * terminal status (subscribed before re-reading, so the event cannot be missed), then returns the status, the
 * result and the console output. Aborting the agent run cancels the execution. Whether it is offered, and its
 * limits, are the built-in tool's settings in agenttools (`PUT /v1/tools/builtin/run_js`): one place for both the
 * agent loop and the direct `runGoClawJs` call.
 */

const maxOutputBytes = 16 * 1024;

export function runJsToolSource(runtime: RuntimeService, pubsub: AppPubSub, agentTools: AgentTools): ToolSource {
  const tool = (maxTimeout: number): GoClawTool => ({
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
      let execution = await runtime.submit(ctx.principal, { code: args.code, executionTimeoutSecs: timeout });
      if (execution.status === 'running') {
        const events = pubsub.subscribe('runtime.executionStatusChanged', execution.id)[Symbol.asyncIterator]();
        const next = events.next();
        const cancel = () => void runtime.cancel(ctx.principal, execution.id).catch(() => {});
        ctx.signal.addEventListener('abort', cancel, { once: true });
        try {
          let current = await runtime.get(ctx.principal, execution.id);
          let pending = next;
          while (current && current.status === 'running') {
            await pending;
            pending = events.next();
            current = await runtime.get(ctx.principal, execution.id);
          }
          if (current) execution = current;
        } finally {
          ctx.signal.removeEventListener('abort', cancel);
          await events.return?.();
        }
      }
      const { page } = await runtime.output(ctx.principal, { id: execution.id, byteLimit: maxOutputBytes });
      return JSON.stringify({
        status: execution.status,
        result: execution.result ?? null,
        error: execution.error ?? null,
        output: page.data,
        ...(page.hasMore ? { output_truncated: true } : {}),
      });
    },
  });
  return {
    name: 'runtime',
    tools: async ({ principal }) => {
      const settings = await agentTools.tools.getBuiltin(principal, 'run_js').catch(() => undefined);
      if (!settings?.enabled) return [];
      const configured = settings.settings.timeout_seconds;
      const maxTimeout =
        typeof configured === 'number' && Number.isInteger(configured) && configured > 0
          ? Math.min(configured, 60)
          : 60;
      return [tool(maxTimeout)];
    },
  };
}
