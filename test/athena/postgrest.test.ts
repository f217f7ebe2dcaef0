import { PostgrestClient } from '@supabase/postgrest-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AthenaTestApp, athenaRest, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

let t: AthenaTestApp;
let contract: ContractExpectations;

beforeAll(async () => {
  t = await startAthenaApp();
  contract = await contractValidator('athena');
  await t.sql(`
    CREATE TABLE directors (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE films (
      id int PRIMARY KEY, title text NOT NULL, year int, director_id int REFERENCES directors(id),
      tags text[] DEFAULT '{}', meta jsonb
    );
    INSERT INTO directors VALUES (1, 'Kubrick'), (2, 'Varda');
    INSERT INTO films VALUES
      (1, '2001', 1968, 1, '{space,classic}', '{"rating": 9}'),
      (2, 'The Shining', 1980, 1, '{horror}', '{"rating": 8}'),
      (3, 'Cléo from 5 to 7', 1962, 2, '{classic}', NULL);
  `);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /rest/v1/{table} in the contract envelope', () => {
  it('filters, orders, pages and sets Content-Range', async () => {
    const res = await athenaRest(t, 'GET', '/rest/v1/films?select=id,title&year=gt.1965&order=year.desc&limit=1');
    expect(res.status).toBe(200);
    contract.expectValidResponse('GET', '/rest/v1/{table}', 200, res.body);
    expect(res.body).toEqual({ data: [{ id: 2, title: 'The Shining' }] });
    expect(res.headers.get('content-range')).toBe('0-0/*');
  });

  it('embeds, counts exactly, and reads JSON paths', async () => {
    const res = await athenaRest(
      t,
      'GET',
      '/rest/v1/films?select=title,rating:meta->>rating,directors(name)&order=id&tags=cs.{classic}',
      { headers: { prefer: 'count=exact' } },
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      { title: '2001', rating: '9', directors: { name: 'Kubrick' } },
      { title: 'Cléo from 5 to 7', rating: null, directors: { name: 'Varda' } },
    ]);
    expect(res.headers.get('content-range')).toBe('0-1/2');
  });

  it('answers PostgREST errors in both shapes', async () => {
    const res = await athenaRest(t, 'GET', '/rest/v1/films?year=zz.1');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', code: 'PGRST100' });
    expect(res.body).toHaveProperty('details');
    const col = await athenaRest(t, 'GET', '/rest/v1/films?nope=eq.1');
    expect(col.status).toBe(400);
    expect(col.body.code).toBe('42703');
  });
});

describe('@supabase/postgrest-js against /athena/rest/v1', () => {
  // As supabase-js builds it: a schema (so profile headers are sent, which marks a PostgREST client).
  const client = () =>
    new PostgrestClient(`${t.baseUrl}/athena/rest/v1`, {
      headers: { apikey: t.adminKey, 'x-athena-client': t.client },
      schema: 'public',
    });

  it('selects with filters and embedding', async () => {
    const { data, error, count } = await client()
      .from('directors')
      .select('name, films(title)', { count: 'exact' })
      .eq('id', 1);
    expect(error).toBeNull();
    expect(count).toBe(1);
    expect(data).toEqual([{ name: 'Kubrick', films: [{ title: '2001' }, { title: 'The Shining' }] }]);
  });

  it('inserts, upserts, updates and deletes', async () => {
    const c = client();
    const ins = await c.from('directors').insert({ id: 3, name: 'Ozu' }).select();
    expect(ins.error).toBeNull();
    expect(ins.data).toEqual([{ id: 3, name: 'Ozu' }]);
    const up = await c.from('directors').upsert({ id: 3, name: 'Yasujirō Ozu' }).select();
    expect(up.error).toBeNull();
    expect(up.data).toEqual([{ id: 3, name: 'Yasujirō Ozu' }]);
    const upd = await c.from('directors').update({ name: 'Y. Ozu' }).eq('id', 3).select('name');
    expect(upd.error).toBeNull();
    expect(upd.data).toEqual([{ name: 'Y. Ozu' }]);
    const single = await c.from('directors').select('name').eq('id', 3).single();
    expect(single.data).toEqual({ name: 'Y. Ozu' });
    const del = await c.from('directors').delete().eq('id', 3);
    expect(del.error).toBeNull();
    const gone = await c.from('directors').select('*').eq('id', 3);
    expect(gone.data).toEqual([]);
    const dup = await c.from('directors').insert({ id: 1, name: 'again' });
    expect(dup.error?.code).toBe('23505');
  });
});
