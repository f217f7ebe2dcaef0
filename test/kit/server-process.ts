import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** `npm start` as a separate process: for tests of several servers sharing Postgres and Redis. */
export interface ServerProcess {
  proc: ChildProcess;
  baseUrl: string;
  dataDir: string;
}

/**
 * Starts `src/main.ts serve` on a free port with a fresh data dir and `env` on top of the test defaults (no
 * Polykomos engines) and `nodeArgs` before the script (e.g. `--cpu-prof`); resolves with its URL once it logs that it listens. `DEBUG_NODES=1` echoes its output.
 */
export async function startServerProcess(env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'atrium-node-'));
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PORT: '0',
      ATRIUM_DATA_DIR: dataDir,
      ATRIUM_POLYKOMOS_POSTGRES_URL: '',
      ATRIUM_POLYKOMOS_MYSQL_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    if (process.env.DEBUG_NODES) {
      proc.stdout?.on('data', (c: Buffer) => process.stderr.write(c));
      proc.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
    }
    proc.on('exit', (code) => reject(new Error(`node exited with ${code}:\n${output}`)));
  });
  return { proc, baseUrl, dataDir };
}

/** SIGTERM, wait for the exit, remove the data dir; resolves with the exit code. */
export async function stopServerProcess(node: ServerProcess): Promise<number | null> {
  const code = new Promise<number | null>((resolve) => node.proc.once('exit', resolve));
  node.proc.kill('SIGTERM');
  const exitCode = await code;
  await rm(node.dataDir, { recursive: true, force: true });
  return exitCode;
}
