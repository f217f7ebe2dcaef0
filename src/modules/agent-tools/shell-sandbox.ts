import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../core/logger.ts';

/*
 * The `exec` built-in tool's sandbox: bubblewrap (`bwrap`, Debian's `bubblewrap` package). A command never runs on
 * the host: without a working bwrap (not installed, or unable to create namespaces here) every call is refused.
 * Whether it works is detected once at start (a trivial command in the same sandbox a call gets). Each call gets:
 * every namespace unshared (no network: a fresh, empty net namespace; its own pids, ipc, uts), the system
 * directories (/usr and its /bin, /lib, /sbin links, a few /etc files) bound read-only, nothing else of the host —
 * not the data dir, not the repo, not /home —, a fresh /tmp, a writable workspace (a new host temp dir, removed
 * afterwards) as the working directory, a cleared environment, a wall-clock limit (the process is killed) and an
 * output cap (the process is killed when it is exceeded).
 */

export interface ShellRun {
  command: string;
  timeoutSecs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

export interface ShellOutcome {
  exitCode: number | null;
  /** Set when the process ended on a signal (a kill by the limits included). */
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  outputTruncated: boolean;
}

export type SandboxStatus = { available: true; version: string } | { available: false; reason: string };

/** A thrown refusal: no sandbox here. */
export class ShellSandboxUnavailableError extends Error {
  constructor(reason: string) {
    super(`exec is refused: no bubblewrap sandbox on this server (${reason}); commands never run on the host`);
    this.name = 'ShellSandboxUnavailableError';
  }
}

/** The read-only system paths bound into the sandbox (those that exist here); symlinks are recreated as links. */
const systemPaths = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const etcFiles = ['/etc/ld.so.cache', '/etc/alternatives', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf'];

/** bwrap's arguments for one call (pure: exported for the unit test). */
export function bwrapArgs(
  workspace: string,
  command: string,
  exists: (p: string) => { link: string } | 'path' | null,
): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv'];
  for (const p of systemPaths) {
    const kind = exists(p);
    if (kind === 'path') args.push('--ro-bind', p, p);
    else if (kind) args.push('--symlink', kind.link, p);
  }
  for (const f of etcFiles) if (exists(f)) args.push('--ro-bind', f, f);
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--bind',
    workspace,
    '/workspace',
    '--chdir',
    '/workspace',
    '--setenv',
    'PATH',
    '/usr/local/bin:/usr/bin:/bin',
    '--setenv',
    'HOME',
    '/workspace',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--',
    '/bin/sh',
    '-c',
    command,
  );
  return args;
}

function kindOf(p: string): { link: string } | 'path' | null {
  if (!existsSync(p)) return null;
  return lstatSync(p).isSymbolicLink() ? { link: readlinkSync(p) } : 'path';
}

export class ShellSandbox {
  private status: SandboxStatus = { available: false, reason: 'not checked yet' };

  constructor(
    private readonly bwrap = 'bwrap',
    private readonly logger?: Logger,
  ) {}

  /** Runs a trivial command in the sandbox; the result is what `state()` reports from then on. */
  async detect(): Promise<SandboxStatus> {
    const version = await capture(this.bwrap, ['--version'], 5_000);
    if (version.error || version.code !== 0) {
      this.status = { available: false, reason: version.error ?? `bwrap --version exited ${version.code}` };
      this.logger?.warn({ reason: this.status.reason }, 'exec sandbox unavailable: the exec tool is refused');
      return this.status;
    }
    const probe = await this.spawnIn('echo sandbox-ok', { timeoutSecs: 5, maxOutputBytes: 1024 }).catch(
      (err: Error) => ({ err }),
    );
    if ('err' in probe) this.status = { available: false, reason: probe.err.message };
    else if (probe.exitCode !== 0 || probe.stdout.trim() !== 'sandbox-ok') {
      this.status = {
        available: false,
        reason: `bwrap cannot create its sandbox here: ${(probe.stderr || `exit ${probe.exitCode}`).trim().slice(0, 300)}`,
      };
    } else this.status = { available: true, version: version.stdout.trim() };
    if (this.status.available) this.logger?.info({ bwrap: this.status.version }, 'exec sandbox: bubblewrap works');
    else this.logger?.warn({ reason: this.status.reason }, 'exec sandbox unavailable: the exec tool is refused');
    return this.status;
  }

  state(): SandboxStatus {
    return this.status;
  }

  /** Runs `command` with `/bin/sh -c` inside the sandbox; refused (ShellSandboxUnavailableError) without one. */
  async run(input: ShellRun): Promise<ShellOutcome> {
    if (!this.status.available) throw new ShellSandboxUnavailableError(this.status.reason);
    return this.spawnIn(input.command, input);
  }

  private async spawnIn(
    command: string,
    limits: { timeoutSecs: number; maxOutputBytes: number; signal?: AbortSignal },
  ): Promise<ShellOutcome> {
    const workspace = await mkdtemp(path.join(tmpdir(), 'atrium-exec-'));
    try {
      return await new Promise<ShellOutcome>((resolve, reject) => {
        const child = spawn(this.bwrap, bwrapArgs(workspace, command, kindOf), {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {},
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let bytes = 0;
        let outputTruncated = false;
        let timedOut = false;
        const kill = () => {
          if (child.exitCode === null) child.kill('SIGKILL');
        };
        const take = (into: Buffer[]) => (chunk: Buffer) => {
          if (outputTruncated) return;
          const room = limits.maxOutputBytes - bytes;
          if (chunk.length > room) {
            into.push(chunk.subarray(0, room));
            bytes = limits.maxOutputBytes;
            outputTruncated = true;
            kill();
            return;
          }
          into.push(chunk);
          bytes += chunk.length;
        };
        child.stdout.on('data', take(out));
        child.stderr.on('data', take(err));
        const timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, limits.timeoutSecs * 1000);
        const onAbort = () => kill();
        limits.signal?.addEventListener('abort', onAbort, { once: true });
        child.on('error', (e) => {
          clearTimeout(timer);
          limits.signal?.removeEventListener('abort', onAbort);
          reject(e);
        });
        child.on('close', (code, sig) => {
          clearTimeout(timer);
          limits.signal?.removeEventListener('abort', onAbort);
          resolve({
            exitCode: code,
            signal: sig,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
            timedOut,
            outputTruncated,
          });
        });
      });
    } finally {
      await rm(workspace, { recursive: true, force: true });
    }
  }
}

function capture(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; error?: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, error: e.code === 'ENOENT' ? `${cmd} is not installed` : e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}
