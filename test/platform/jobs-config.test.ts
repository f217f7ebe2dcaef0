import { describe, expect, it } from 'vitest';
import { parseJobsConfig } from '../../src/core/jobs/config.ts';
import { errorText, maxErrorLength } from '../../src/core/jobs/error-text.ts';
import { backoffMs } from '../../src/core/jobs/runner.ts';

describe('parseJobsConfig', () => {
  it('has defaults', () => {
    const problems: string[] = [];
    expect(parseJobsConfig({}, problems)).toEqual({
      concurrency: 4,
      pollMs: 1000,
      leaseMs: 30_000,
      maxAttempts: 5,
      backoffBaseMs: 1000,
      backoffMaxMs: 3600_000,
      retentionHours: 168,
    });
    expect(problems).toEqual([]);
  });

  it('reads every variable; concurrency 0 is allowed', () => {
    const problems: string[] = [];
    const config = parseJobsConfig(
      {
        ATRIUM_JOBS_CONCURRENCY: '0',
        ATRIUM_JOBS_POLL_MS: '250',
        ATRIUM_JOBS_LEASE_MS: ' 5000 ',
        ATRIUM_JOBS_MAX_ATTEMPTS: '9',
        ATRIUM_JOBS_BACKOFF_BASE_MS: '0',
        ATRIUM_JOBS_BACKOFF_MAX_MS: '60000',
        ATRIUM_JOBS_RETENTION_HOURS: '24',
      },
      problems,
    );
    expect(config).toEqual({
      concurrency: 0,
      pollMs: 250,
      leaseMs: 5000,
      maxAttempts: 9,
      backoffBaseMs: 0,
      backoffMaxMs: 60_000,
      retentionHours: 24,
    });
    expect(problems).toEqual([]);
  });

  it('pushes one problem per invalid value instead of throwing, and keeps the defaults', () => {
    const problems: string[] = [];
    const config = parseJobsConfig(
      {
        ATRIUM_JOBS_CONCURRENCY: '-1',
        ATRIUM_JOBS_POLL_MS: 'fast',
        ATRIUM_JOBS_LEASE_MS: '100',
        ATRIUM_JOBS_MAX_ATTEMPTS: '1.5',
        ATRIUM_JOBS_RETENTION_HOURS: '0',
      },
      problems,
    );
    expect(problems).toEqual([
      'ATRIUM_JOBS_CONCURRENCY must be an integer between 0 and 256 (got "-1")',
      'ATRIUM_JOBS_POLL_MS must be an integer between 10 and 60000 (got "fast")',
      'ATRIUM_JOBS_LEASE_MS must be an integer between 300 and 3600000 (got "100")',
      'ATRIUM_JOBS_MAX_ATTEMPTS must be an integer between 1 and 1000 (got "1.5")',
      'ATRIUM_JOBS_RETENTION_HOURS must be an integer between 1 and 87600 (got "0")',
    ]);
    expect(config).toMatchObject({
      concurrency: 4,
      pollMs: 1000,
      leaseMs: 30_000,
      maxAttempts: 5,
      retentionHours: 168,
    });
  });

  it('wants the backoff cap at or above its base', () => {
    const problems: string[] = [];
    parseJobsConfig({ ATRIUM_JOBS_BACKOFF_BASE_MS: '5000', ATRIUM_JOBS_BACKOFF_MAX_MS: '1000' }, problems);
    expect(problems).toEqual([
      'ATRIUM_JOBS_BACKOFF_MAX_MS (1000) must not be below ATRIUM_JOBS_BACKOFF_BASE_MS (5000)',
    ]);
  });
});

describe('backoffMs', () => {
  it('doubles per attempt from the base, is capped, and adds at most 10% jitter', () => {
    const b = { baseMs: 100, maxMs: 1000 };
    for (let i = 0; i < 50; i++) {
      for (const [attempt, base] of [
        [1, 100],
        [2, 200],
        [3, 400],
        [4, 800],
        [5, 1000],
        [12, 1000],
      ] as const) {
        const d = backoffMs(attempt, b);
        expect(d).toBeGreaterThanOrEqual(base);
        expect(d).toBeLessThanOrEqual(base * 1.1);
      }
    }
  });
});

describe('errorText', () => {
  it('keeps the message only: no stack frames, no absolute paths, bounded', () => {
    const e = new Error(
      'Invalid `prisma.job.create()` invocation in\n/work/main/src/modules/x.ts:12:3\n\n  11 |\n→ 12 | await x\nUnique constraint failed',
    );
    const text = errorText(e);
    expect(text).not.toMatch(/\/work|\.ts:\d/);
    expect(text).toBe(
      'Invalid `prisma.job.create()` invocation in <path> 11 | → 12 | await x Unique constraint failed',
    );
    expect(errorText(new Error('ENOENT: no such file, open "/var/lib/atrium/x.json"'))).toBe(
      'ENOENT: no such file, open "<path>"',
    );
    expect(errorText(new Error('see C:\\srv\\atrium\\a.js:1:2 now'))).toBe('see <path> now');
    expect(errorText(new Error('GET https://api.example.com/v1/x failed'))).toBe(
      'GET https://api.example.com/v1/x failed',
    );
    expect(errorText(new Error('x\n    at f (/a/b.ts:1:1)\n    at g (node:internal/x:2:3)'))).toBe('x');
    expect(errorText('plain string')).toBe('plain string');
    expect(errorText({ code: 42 })).toBe('{"code":42}');
    expect(errorText(new Error(''))).toBe('Error');
    const long = errorText(new Error('y'.repeat(5000)));
    expect(long).toHaveLength(maxErrorLength);
    expect(long.endsWith('…')).toBe(true);
  });
});
