import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { type OutboundPolicy, outboundRequest } from '../../core/net/outbound.ts';

/*
 * The probes behind `/health` and `/health/cluster`: the local Docker socket (reported only — Atrium provisions
 * nothing through Docker) and the configured mirrors, each a real request with a deadline.
 */

/** What the Docker socket probe found. */
export type DockerStatus = 'available' | 'not_found' | 'not_a_socket' | 'permission_denied' | 'unresponsive';

export interface DockerProbe {
  available: boolean;
  status: DockerStatus;
  detail: string;
  hint: string | null;
}

const dockerNote = 'Atrium does not use Docker; this only reports what the process user could reach.';

/**
 * Probes a Docker socket: it must exist, be a socket, be readable and writable by this process, and answer
 * `GET /_ping` within `timeoutMs`.
 */
export async function probeDockerSocket(socketPath = '/var/run/docker.sock', timeoutMs = 1000): Promise<DockerProbe> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(socketPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      return {
        available: false,
        status: 'permission_denied',
        detail: `${socketPath} cannot be inspected by the process user (${code}). ${dockerNote}`,
        hint: 'Add the process user to the docker group if local provisioning is wanted.',
      };
    }
    return {
      available: false,
      status: 'not_found',
      detail: `${socketPath} does not exist (${code ?? 'unknown error'}). ${dockerNote}`,
      hint: null,
    };
  }
  if (!info.isSocket()) {
    return {
      available: false,
      status: 'not_a_socket',
      detail: `${socketPath} exists but is not a socket. ${dockerNote}`,
      hint: null,
    };
  }
  try {
    await access(socketPath, constants.R_OK | constants.W_OK);
  } catch (err) {
    return {
      available: false,
      status: 'permission_denied',
      detail: `${socketPath} is not readable and writable by the process user (${(err as NodeJS.ErrnoException).code}). ${dockerNote}`,
      hint: 'Add the process user to the docker group if local provisioning is wanted.',
    };
  }
  const answer = await pingSocket(socketPath, timeoutMs);
  if (answer.ok) {
    return {
      available: true,
      status: 'available',
      detail: `${socketPath} answered /_ping (${answer.line}). ${dockerNote}`,
      hint: null,
    };
  }
  return {
    available: false,
    status: 'unresponsive',
    detail: `${socketPath} is accessible but did not answer /_ping: ${answer.line}. ${dockerNote}`,
    hint: 'Check that the Docker daemon is running.',
  };
}

function pingSocket(socketPath: string, timeoutMs: number): Promise<{ ok: boolean; line: string }> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let data = '';
    const done = (ok: boolean, line: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, line });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write('GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        const status = data.slice(0, end);
        done(/^HTTP\/1\.[01] 200\b/.test(status), status.slice(0, 80));
      }
    });
    socket.on('error', (err) => done(false, err.message));
    socket.on('close', () => done(false, data === '' ? 'connection closed' : data.slice(0, 80)));
  });
}

/** One mirror's probe result (`ClusterMirrorHealth`). */
export interface MirrorProbe {
  url: string;
  status: 'online' | 'offline';
  latencyMs: number | null;
  downloadBytesPerSec: number | null;
  version: string | null;
  message: string;
  checkedAt: Date;
}

/** The Athena health path of a mirror base URL (`https://peer/` → `https://peer/athena/health`). */
export function mirrorHealthUrl(base: string): string {
  const u = new URL(base);
  if (!u.pathname.endsWith('/')) u.pathname = `${u.pathname}/`;
  return new URL('athena/health', u).toString();
}

/**
 * Probes one mirror: `GET <base>/athena/health` through the outbound guard. Online means a 2xx JSON answer; the
 * latency is the whole exchange, the throughput the body bytes over that time, the version the peer's
 * `cargo_toml_version` (or `version`).
 */
export async function probeMirror(base: string, policy: OutboundPolicy): Promise<MirrorProbe> {
  const checkedAt = new Date();
  const started = performance.now();
  const offline = (message: string): MirrorProbe => ({
    url: base,
    status: 'offline',
    latencyMs: null,
    downloadBytesPerSec: null,
    version: null,
    message,
    checkedAt,
  });
  let res: Awaited<ReturnType<typeof outboundRequest>>;
  try {
    res = await outboundRequest(mirrorHealthUrl(base), { headers: { accept: 'application/json' } }, policy);
  } catch (err) {
    return offline(`unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const elapsedMs = performance.now() - started;
  const latencyMs = Math.round(elapsedMs * 100) / 100;
  const downloadBytesPerSec = Math.round(res.body.length / Math.max(elapsedMs / 1000, 1e-6));
  if (res.status < 200 || res.status >= 300) {
    return { ...offline(`answered HTTP ${res.status}`), latencyMs, downloadBytesPerSec };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch {
    return { ...offline('answered a body that is not JSON'), latencyMs, downloadBytesPerSec };
  }
  const body = (parsed !== null && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const version =
    typeof body.cargo_toml_version === 'string'
      ? body.cargo_toml_version
      : typeof body.version === 'string'
        ? body.version
        : null;
  return {
    url: base,
    status: 'online',
    latencyMs,
    downloadBytesPerSec,
    version,
    message: `HTTP ${res.status}${typeof body.status === 'string' ? `, status ${body.status}` : ''}`,
    checkedAt,
  };
}
