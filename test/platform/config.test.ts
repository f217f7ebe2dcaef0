import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/core/config.ts';

describe('loadConfig', () => {
  it('gives embedded defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.s3).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.s3Bucket).toBe('atrium');
    expect(c.dataDir.endsWith('.atrium')).toBe(true);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'not a url',
        S3_ENDPOINT: 'http://minio:9000',
        S3_BUCKET: 'Bad_Bucket',
        ATRIUM_ADMIN_KEY: 'short',
        ATRIUM_JWT_KEYS: '{',
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      for (const name of [
        'PORT',
        'DATABASE_URL',
        'REDIS_URL',
        'S3_ACCESS_KEY_ID',
        'S3_SECRET_ACCESS_KEY',
        'S3_BUCKET',
        'ATRIUM_ADMIN_KEY',
        'ATRIUM_JWT_KEYS',
      ]) {
        expect(problems).toContain(name);
      }
    }
  });

  it('accepts a full real-service configuration', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/atrium',
      REDIS_URL: 'redis://cache:6379',
      S3_ENDPOINT: 'https://s3.example.com',
      S3_REGION: 'eu-west-1',
      S3_ACCESS_KEY_ID: 'AKIA',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_BUCKET: 'atrium-prod',
      ATRIUM_ADMIN_KEY: 'x'.repeat(40),
    });
    expect(c.port).toBe(8080);
    expect(c.s3).toMatchObject({ endpoint: 'https://s3.example.com', region: 'eu-west-1', forcePathStyle: true });
  });
});
