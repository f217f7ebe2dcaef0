import { describe, expect, it } from 'vitest';
import { bwrapArgs, ShellSandbox, ShellSandboxUnavailableError } from './shell-sandbox.ts';

describe('bwrapArgs', () => {
  const layout: Record<string, { link: string } | 'path'> = {
    '/usr': 'path',
    '/bin': { link: 'usr/bin' },
    '/lib': { link: 'usr/lib' },
    '/etc/ld.so.cache': 'path',
  };
  const args = bwrapArgs('/tmp/ws-1', 'echo "$HOME"; rm -rf /', (p) => layout[p] ?? null);

  it('unshares every namespace (network included), clears the environment and dies with its parent', () => {
    expect(args.slice(0, 4)).toEqual(['--unshare-all', '--die-with-parent', '--new-session', '--clearenv']);
    expect(args).not.toContain('--share-net');
  });

  it('binds only the system paths read-only (links as links), the workspace writable, nothing else', () => {
    const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [`${args[i + 1]}->${args[i + 2]}`] : []));
    expect(pairs('--ro-bind')).toEqual(['/usr->/usr', '/etc/ld.so.cache->/etc/ld.so.cache']);
    expect(pairs('--symlink')).toEqual(['usr/bin->/bin', 'usr/lib->/lib']);
    expect(pairs('--bind')).toEqual(['/tmp/ws-1->/workspace']);
    expect(args).not.toContain('/');
  });

  it('passes the command as one argv entry to /bin/sh -c (no host shell parses it)', () => {
    expect(args.slice(-4)).toEqual(['--', '/bin/sh', '-c', 'echo "$HOME"; rm -rf /']);
  });
});

describe('ShellSandbox without bwrap', () => {
  it('reports why and refuses to run anything', async () => {
    const sandbox = new ShellSandbox('/nonexistent/bwrap');
    expect(await sandbox.detect()).toEqual({ available: false, reason: '/nonexistent/bwrap is not installed' });
    await expect(sandbox.run({ command: 'true', timeoutSecs: 1, maxOutputBytes: 10 })).rejects.toBeInstanceOf(
      ShellSandboxUnavailableError,
    );
  });

  it('refuses before detection too (never assumes a sandbox)', async () => {
    await expect(new ShellSandbox().run({ command: 'true', timeoutSecs: 1, maxOutputBytes: 10 })).rejects.toThrow(
      /not checked yet/,
    );
  });
});
