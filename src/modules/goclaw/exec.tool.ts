import type { AgentTools } from '../agent-tools/module.ts';
import type { ToolSource } from './tools.ts';

/*
 * `exec`: a shell command run only inside agenttools' bubblewrap sandbox (`ShellSandbox`: no network, read-only
 * system directories, nothing else of the host, a throw-away workspace, a time limit and an output cap). Offered
 * while the built-in tool is enabled (`PUT /v1/tools/builtin/exec`; off by default); on an instance without a
 * working bwrap every call is refused with the reason — a command never runs on the host.
 * Settings: `timeout_seconds` (default 60, at most 300) and `max_output_bytes` (default 65536, at most 1 MiB).
 */

const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

export function execToolSource(agentTools: AgentTools): ToolSource {
  return {
    name: 'sandbox.exec',
    tools: async ({ principal }) => {
      const settings = await agentTools.tools.getBuiltin(principal, 'exec');
      if (!settings.enabled) return [];
      const timeoutSecs = Math.min(positiveInt(settings.settings.timeout_seconds) ?? 60, 300);
      const maxOutputBytes = Math.min(positiveInt(settings.settings.max_output_bytes) ?? 65536, 1024 * 1024);
      return [
        {
          name: 'exec',
          description:
            'Runs a shell command (/bin/sh -c) in an isolated sandbox: no network, read-only system files, an empty ' +
            `writable working directory that is discarded afterwards, at most ${timeoutSecs} s and ${maxOutputBytes} ` +
            'bytes of output. Returns the exit code, stdout and stderr.',
          parameters: {
            type: 'object',
            properties: { command: { type: 'string', description: 'The command line.' } },
            required: ['command'],
          },
          async execute(args, ctx) {
            if (typeof args.command !== 'string' || args.command.trim() === '') {
              throw new Error('command must be a non-empty string');
            }
            if (args.command.length > 100_000 || args.command.includes('\0')) {
              throw new Error('command: at most 100000 characters, no U+0000');
            }
            const out = await agentTools.sandbox.run({
              command: args.command,
              timeoutSecs,
              maxOutputBytes,
              signal: ctx.signal,
            });
            return JSON.stringify({
              exit_code: out.exitCode,
              ...(out.signal ? { signal: out.signal } : {}),
              stdout: out.stdout,
              stderr: out.stderr,
              ...(out.timedOut ? { timed_out: true } : {}),
              ...(out.outputTruncated ? { output_truncated: true } : {}),
            });
          },
        },
      ];
    },
  };
}
