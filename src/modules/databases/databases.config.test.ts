import { describe, expect, it } from 'vitest';
import { createEnvReader } from '../../core/config.ts';
import { parseDatabasesConfig } from './databases.config.ts';

const parse = (env: Record<string, string>) => {
  const problems: string[] = [];
  const config = parseDatabasesConfig(createEnvReader(env, problems));
  return { config, problems };
};

describe('databases configuration', () => {
  it('reads ATRIUM_DATABASES_*_URL', () => {
    const { config, problems } = parse({
      ATRIUM_DATABASES_POSTGRES_URL: 'postgresql://admin@pg.internal:5433/postgres',
      ATRIUM_DATABASES_MYSQL_URL: 'mysql://root@my.internal:3307',
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({
      postgresUrl: 'postgresql://admin@pg.internal:5433/postgres',
      mysqlUrl: 'mysql://root@my.internal:3307',
    });
  });

  it('accepts the older ATRIUM_POLYKOMOS_*_URL names as aliases', () => {
    const { config, problems } = parse({
      ATRIUM_POLYKOMOS_POSTGRES_URL: 'postgres://a@h/p',
      ATRIUM_POLYKOMOS_MYSQL_URL: 'mysql://r@h',
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({ postgresUrl: 'postgres://a@h/p', mysqlUrl: 'mysql://r@h' });
  });

  it('both names with one value is fine; with different values it is a problem', () => {
    expect(
      parse({ ATRIUM_DATABASES_MYSQL_URL: 'mysql://r@h', ATRIUM_POLYKOMOS_MYSQL_URL: 'mysql://r@h' }).problems,
    ).toEqual([]);
    const { problems } = parse({
      ATRIUM_DATABASES_POSTGRES_URL: 'postgres://a@one/p',
      ATRIUM_POLYKOMOS_POSTGRES_URL: 'postgres://a@two/p',
    });
    expect(problems).toEqual([
      'ATRIUM_DATABASES_POSTGRES_URL and its alias ATRIUM_POLYKOMOS_POSTGRES_URL are both set, to different values: set only ATRIUM_DATABASES_POSTGRES_URL',
    ]);
  });

  it('rejects a URL of the wrong scheme; unset engines stay undefined', () => {
    const { config, problems } = parse({ ATRIUM_DATABASES_POSTGRES_URL: 'mysql://r@h' });
    expect(problems).toEqual(['ATRIUM_DATABASES_POSTGRES_URL must use postgres: or postgresql: (got "mysql:")']);
    expect(config.mysqlUrl).toBeUndefined();
  });
});
