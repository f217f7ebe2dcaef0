import { describe, expect, it } from 'vitest';
import { AthenaInvalidInputError } from './athena.errors.ts';
import { normalisePostgresUri, parseSeedFile, redactUri } from './clients.service.ts';

describe('parseSeedFile', () => {
  it('reads clients and client_config entries', () => {
    const seed = parseSeedFile(
      JSON.stringify({
        clients: [
          { client_name: 'a', pg_uri: 'postgres://u:p@h/db', description: 'A' },
          { client_name: 'b', pg_uri_env_var: 'B_URI' },
        ],
        client_config: { a: { flags: { x: true } }, later: {} },
      }),
    );
    expect(seed.clients).toEqual([
      { clientName: 'a', pgUri: 'postgres://u:p@h/db', pgUriEnvVar: null, description: 'A' },
      { clientName: 'b', pgUri: null, pgUriEnvVar: 'B_URI', description: null },
    ]);
    expect(seed.configs).toEqual([
      ['a', { flags: { x: true } }],
      ['later', {}],
    ]);
  });

  it('an empty object seeds nothing', () => {
    expect(parseSeedFile('{}')).toEqual({ clients: [], configs: [] });
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'JSON object'],
    ['{"clients": {}}', 'clients must be an array'],
    ['{"clients": [1]}', 'clients[0] must be an object'],
    ['{"clients": [{"client_name": "Bad Name", "pg_uri": "postgres://h/d"}]}', 'not a client name'],
    ['{"clients": [{"client_name": "a"}]}', 'needs pg_uri or pg_uri_env_var'],
    ['{"clients": [{"client_name": "a", "pg_uri": 5}]}', 'pg_uri must be a string'],
    ['{"clients": [{"client_name": "a", "pg_uri": "x"}, {"client_name": "a", "pg_uri": "y"}]}', 'twice'],
    ['{"client_config": []}', 'client_config must be an object'],
    ['{"client_config": {"a": 1}}', 'client_config.a must be an object'],
    ['{"client_config": {"../x": {}}}', 'not a client name'],
  ])('refuses %s', (text, message) => {
    expect(() => parseSeedFile(text)).toThrow(AthenaInvalidInputError);
    expect(() => parseSeedFile(text)).toThrow(message);
  });
});

describe('connection URIs', () => {
  it('normalises postgresql:// and JDBC forms to postgres://, credentials into the authority', () => {
    expect(normalisePostgresUri('postgresql://u:p@h:5433/db')).toBe('postgres://u:p@h:5433/db');
    expect(normalisePostgresUri('jdbc:postgresql://h/db?user=al%40ice&password=s%2Fx')).toBe(
      'postgres://al%40ice:s%2Fx@h/db',
    );
    expect(normalisePostgresUri('mysql://h/db')).toBeUndefined();
    expect(normalisePostgresUri('postgres:///db')).toBeUndefined();
    expect(normalisePostgresUri('nonsense')).toBeUndefined();
  });

  it('redacts the password only', () => {
    expect(redactUri('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUri('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactUri('::not a uri')).toBe('***');
  });
});
