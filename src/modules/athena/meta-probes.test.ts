import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorHealthUrl, probeDockerSocket } from './meta-probes.ts';

let dir: string;
const servers: Server[] = [];

/** A unix-socket server that answers every connection with `reply` (or nothing). */
async function socketServer(name: string, reply: string | undefined): Promise<string> {
  const socketPath = path.join(dir, name);
  const server = createServer((c) => {
    c.on('data', () => {
      if (reply !== undefined) c.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  servers.push(server);
  return socketPath;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'athena-probe-'));
});

afterAll(async () => {
  for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('probeDockerSocket', () => {
  it('is available when the socket answers /_ping with 200', async () => {
    const socket = await socketServer('ok.sock', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
    expect(await probeDockerSocket(socket)).toMatchObject({ available: true, status: 'available', hint: null });
  });

  it('is unresponsive when the socket answers something else, or nothing in time', async () => {
    const error = await socketServer('err.sock', 'HTTP/1.1 500 Internal Server Error\r\n\r\n');
    expect(await probeDockerSocket(error)).toMatchObject({ available: false, status: 'unresponsive' });
    const silent = await socketServer('silent.sock', undefined);
    const probe = await probeDockerSocket(silent, 200);
    expect(probe).toMatchObject({ available: false, status: 'unresponsive' });
    expect(probe.detail).toMatch(/no answer within 200 ms/);
  });

  it('tells a missing path from a file that is not a socket', async () => {
    expect(await probeDockerSocket(path.join(dir, 'none.sock'))).toMatchObject({
      available: false,
      status: 'not_found',
    });
    const file = path.join(dir, 'plain');
    await writeFile(file, 'x');
    expect(await probeDockerSocket(file)).toMatchObject({ available: false, status: 'not_a_socket' });
  });

  // Root passes every access check, so the refusal cannot be observed when the suite runs as root.
  it.skipIf(process.getuid?.() === 0)(
    'is permission_denied when the process may not read and write the socket',
    async () => {
      const socket = await socketServer('locked.sock', 'HTTP/1.1 200 OK\r\n\r\n');
      await chmod(socket, 0o000);
      expect(await probeDockerSocket(socket)).toMatchObject({ available: false, status: 'permission_denied' });
    },
  );
});

describe('mirrorHealthUrl', () => {
  it('appends athena/health to the base path', () => {
    expect(mirrorHealthUrl('https://peer.example')).toBe('https://peer.example/athena/health');
    expect(mirrorHealthUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/athena/health');
    expect(mirrorHealthUrl('https://peer.example/base')).toBe('https://peer.example/base/athena/health');
  });
});
