import pino from 'pino';
import { expect, it } from 'vitest';
import { SandboxPool } from '../../src/modules/runtime/sandbox/pool.ts';

const logger = pino({ level: 'silent' });
const request = (runId: string) => ({
  runId,
  code: '1+1',
  memoryMb: 32,
  timeoutMs: 5_000,
  maxOutputBytes: 1024,
  onOutput: () => {},
});

it('fails runs at once, with the reason, when no isolated-vm build loads (instead of leaving them running)', async () => {
  const pool = new SandboxPool({ size: 2, logger, ivmPackages: ['no-such-isolated-vm'] });
  try {
    const first = await pool.run(request('a'));
    expect(first.status).toBe('failed');
    expect(first.error).toMatch(/sandbox is unavailable.*no usable isolated-vm.*no-such-isolated-vm/);
    expect(await pool.version()).toBeUndefined();
    const later = await pool.run(request('b'));
    expect(later).toMatchObject({ status: 'failed', error: first.error });
  } finally {
    await pool.close();
  }
});

it('answers version() at once, with no version, once the sandbox is known to be unavailable', async () => {
  const pool = new SandboxPool({ size: 1, logger, ivmPackages: ['no-such-isolated-vm'] });
  try {
    expect((await pool.run(request('d'))).status).toBe('failed');
    expect(pool.unavailable).toMatch(/no usable isolated-vm build for Node v\d+/);
    const started = performance.now();
    expect(await pool.version()).toBeUndefined();
    // No worker will report again: waiting for one (up to 10 s) would stall every /api/version request.
    expect(performance.now() - started).toBeLessThan(1_000);
  } finally {
    await pool.close();
  }
});

it('runs with the default packages (the control for the cases above)', async () => {
  const pool = new SandboxPool({ size: 1, logger });
  try {
    expect(await pool.run(request('c'))).toMatchObject({ status: 'completed', result: '2' });
    expect(await pool.version()).toMatch(/^\d+\.\d+\.\d+$/);
  } finally {
    await pool.close();
  }
});
