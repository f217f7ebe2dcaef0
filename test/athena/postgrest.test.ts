import { PostgrestClient } from '@supabase/postgrest-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDb } from '../kit/app.ts';
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

describe('PostgREST grammar and preferences', () => {
  const pg = { accept: 'application/json', 'accept-profile': 'public' };

  it('nests and/or with not, like with *, in with quotes', async () => {
    const res = await athenaRest(
      t,
      'GET',
      `/rest/v1/films?select=id&or=(title.like.*Shin*,and(year.lt.1965,director_id.not.eq.1))&order=id`,
    );
    expect(res.body.data).toEqual([{ id: 2 }, { id: 3 }]);
    const q = await athenaRest(t, 'GET', `/rest/v1/films?select=id&title=in.("2001","The Shining")&order=id.desc`);
    expect(q.body.data).toEqual([{ id: 2 }, { id: 1 }]);
  });

  it('aggregates with grouping', async () => {
    const res = await athenaRest(t, 'GET', '/rest/v1/films?select=director_id,count(),year.max()&order=director_id');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      { director_id: 1, count: 2, max: 1980 },
      { director_id: 2, count: 1, max: 1962 },
    ]);
  });

  it('Range, singular objects (406 otherwise) and CSV', async () => {
    const range = await athenaRest(t, 'GET', '/rest/v1/films?select=id&order=id', {
      headers: { ...pg, range: 'items=1-2', prefer: 'count=exact' },
    });
    expect(range.status).toBe(206);
    expect(range.body).toEqual([{ id: 2 }, { id: 3 }]);
    expect(range.headers.get('content-range')).toBe('1-2/3');
    const one = await athenaRest(t, 'GET', '/rest/v1/films?select=title&id=eq.1', {
      headers: { accept: 'application/vnd.pgrst.object+json' },
    });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ title: '2001' });
    const many = await athenaRest(t, 'GET', '/rest/v1/films?select=title', {
      headers: { accept: 'application/vnd.pgrst.object+json' },
    });
    expect(many.status).toBe(406);
    expect(many.body.code).toBe('PGRST116');
    const csv = await athenaRest(t, 'GET', '/rest/v1/films?select=id,title&order=id&limit=2', {
      headers: { accept: 'text/csv' },
    });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text).toBe('id,title\n1,2001\n2,The Shining');
  });

  it('answers the execution plan for the plan media type', async () => {
    const res = await athenaRest(t, 'GET', '/rest/v1/films?select=id&id=eq.1', {
      headers: { accept: 'application/vnd.pgrst.plan+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/vnd.pgrst.plan+json');
    expect(res.body[0]).toHaveProperty('Plan');
  });

  it('answers GeoJSON (application/geo+json) through PostGIS where the client database has it, else 406', async () => {
    const geo = { headers: { accept: 'application/geo+json' } };
    const { db } = await t.app.services.athena.clients.database(t.client);
    const postgis = await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'");
    if (postgis.rows.length === 0) {
      // CI installs PostGIS for the Postgres pass; PGlite has none.
      expect(testDb === 'postgres' && process.env.ATRIUM_REQUIRE_SERVICES === '1').toBe(false);
      const res = await athenaRest(t, 'GET', '/rest/v1/films?select=id', geo);
      expect(res.status).toBe(406);
      expect(res.body).toMatchObject({ code: 'PGRST107', hint: 'The client database has no PostGIS extension' });
      return;
    }
    await t.sql(`
      CREATE EXTENSION IF NOT EXISTS postgis;
      CREATE TABLE places (id int PRIMARY KEY, name text, geom geometry(Point, 4326));
      INSERT INTO places VALUES (1, 'Lyon', 'SRID=4326;POINT(4.83 45.76)'), (2, 'Nantes', 'SRID=4326;POINT(-1.55 47.22)');
    `);
    t.app.services.athena.gateway.invalidateCatalog(t.client);
    const res = await athenaRest(t, 'GET', '/rest/v1/places?order=id', geo);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/geo+json');
    expect(res.headers.get('content-range')).toBe('0-1/*');
    expect(res.body).toEqual({
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [4.83, 45.76] },
          properties: { id: 1, name: 'Lyon' },
        },
        {
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [-1.55, 47.22] },
          properties: { id: 2, name: 'Nantes' },
        },
      ],
    });
    const one = await athenaRest(t, 'GET', '/rest/v1/places?select=name,geom&id=eq.2', geo);
    expect(one.body.features).toEqual([
      { type: 'Feature', geometry: { type: 'Point', coordinates: [-1.55, 47.22] }, properties: { name: 'Nantes' } },
    ]);
    const none = await athenaRest(t, 'GET', '/rest/v1/places?select=id,name', geo);
    expect(none.status).toBe(406);
    expect(none.body.code).toBe('PGRST107');
    const films = await athenaRest(t, 'GET', '/rest/v1/films?select=id', geo);
    expect(films.status).toBe(406);
  });

  it('counts planned and estimated', async () => {
    for (const mode of ['planned', 'estimated']) {
      const res = await athenaRest(t, 'GET', '/rest/v1/films?select=id', { headers: { prefer: `count=${mode}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-range')).toMatch(/^0-2\/\d+$/);
    }
  });

  it('tx=rollback answers without keeping the write; max-affected refuses in strict handling', async () => {
    const rolled = await athenaRest(t, 'POST', '/rest/v1/directors', {
      headers: { ...pg, prefer: 'return=representation, tx=rollback' },
      body: { id: 40, name: 'Nobody' },
    });
    expect(rolled.status).toBe(201);
    expect(rolled.body).toEqual([{ id: 40, name: 'Nobody' }]);
    const after = await athenaRest(t, 'GET', '/rest/v1/directors?id=eq.40');
    expect(after.body.data).toEqual([]);
    const strict = await athenaRest(t, 'PATCH', '/rest/v1/films?year=gt.1900', {
      headers: { ...pg, prefer: 'handling=strict, max-affected=1' },
      body: { year: 2000 },
    });
    expect(strict.status).toBe(400);
    expect(strict.body.code).toBe('PGRST124');
    const unchanged = await athenaRest(t, 'GET', '/rest/v1/films?year=eq.2000');
    expect(unchanged.body.data).toEqual([]);
  });

  it('ignore-duplicates, columns, missing=null and on_conflict', async () => {
    const ignored = await athenaRest(t, 'POST', '/rest/v1/directors?on_conflict=id', {
      headers: { ...pg, prefer: 'resolution=ignore-duplicates, return=representation' },
      body: [
        { id: 1, name: 'not Kubrick' },
        { id: 50, name: 'New' },
      ],
    });
    expect(ignored.status).toBe(201);
    expect(ignored.body).toEqual([{ id: 50, name: 'New' }]);
    const cols = await athenaRest(t, 'POST', '/rest/v1/films?columns=id,title', {
      headers: { ...pg, prefer: 'return=representation, missing=null' },
      body: { id: 60, title: 'T', year: 1999 },
    });
    expect(cols.status).toBe(201);
    expect(cols.body[0]).toMatchObject({ id: 60, title: 'T', year: null, tags: [] });
  });

  it('PATCH and DELETE need a filter', async () => {
    const res = await athenaRest(t, 'DELETE', '/rest/v1/films');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('21000');
  });

  it('reads another schema through Accept-Profile', async () => {
    await t.sql(`CREATE SCHEMA inventory; CREATE TABLE inventory.parts (id int PRIMARY KEY, name text);
      INSERT INTO inventory.parts VALUES (1, 'bolt')`);
    const res = await athenaRest(t, 'GET', '/rest/v1/parts', { headers: { 'accept-profile': 'inventory' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: 1, name: 'bolt' }]);
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
