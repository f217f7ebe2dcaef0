import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { type AthenaTestApp, athenaKey, athenaRest, startAthenaApp } from '../kit/athena.ts';

/*
 * `POST /public/{route_key}/{op}`: a route key forwards a gateway body to its client, for the ops it allows; the
 * caller is the admin key or a key bound to the route's client (sent as X-Athena-Key).
 */

let t: AthenaTestApp;

async function route(routeKey: string, allowedOps: string[], options: { isActive?: boolean; client?: string } = {}) {
  await t.app.services.prisma.athenaPublicRoute.create({
    data: { routeKey, clientName: options.client ?? t.client, allowedOps, isActive: options.isActive ?? true },
  });
}

/** A public call: the key goes in X-Athena-Key, no X-Athena-Client (the route names the client). */
function call(path: string, body: unknown, key: string | null = t.adminKey, headers: Record<string, string> = {}) {
  return athenaRest(t, 'POST', path, {
    body,
    key: null,
    client: null,
    headers: { ...(key ? { 'x-athena-key': key } : {}), ...headers },
  });
}

beforeAll(async () => {
  t = await startAthenaApp();
  await t.sql(`
    CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, extra text);
    INSERT INTO notes VALUES (1, 'first', NULL), (2, 'second', 'x');
  `);
  await route('notes-rw', ['fetch', 'insert', 'update', 'delete', 'query']);
  await route('notes-ro', ['fetch']);
  await route('notes-off', ['fetch'], { isActive: false });
  await t.app.services.athena.clients.create(adminPrincipal, {
    clientName: 'elsewhere',
    pgUri: 'postgres://u:p@127.0.0.1:1/none',
  });
  await route('elsewhere-route', ['fetch'], { client: 'elsewhere' });
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('POST /public/{route_key}/{op}', () => {
  it('forwards each op to the route’s client with the gateway route’s answer', async () => {
    const fetched = await call('/public/notes-rw/fetch', {
      table_name: 'notes',
      columns: ['id', 'body', 'extra'],
      sort_by: { field: 'id', direction: 'asc' },
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual({
      status: 'success',
      message: 'Fetched 2 rows',
      data: [
        { id: 1, body: 'first', extra: null },
        { id: 2, body: 'second', extra: 'x' },
      ],
    });
    const stripped = await call(
      '/public/notes-rw/fetch',
      { table_name: 'notes', conditions: [{ eq_column: 'id', eq_value: '1' }] },
      t.adminKey,
      { 'x-strip-nulls': 'true' },
    );
    expect(stripped.body.data).toEqual([{ id: 1, body: 'first' }]);

    const inserted = await call('/public/notes-rw/insert', {
      table_name: 'notes',
      insert_body: { id: 3, body: 'third' },
    });
    expect(inserted.status).toBe(200);
    expect(inserted.body.data).toEqual({ table_name: 'notes', row: { id: 3, body: 'third', extra: null } });
    const duplicate = await call('/public/notes-rw/insert', { table_name: 'notes', insert_body: { id: 3, body: 'x' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('23505');

    const updated = await call('/public/notes-rw/update', {
      table_name: 'notes',
      update_body: { extra: 'y' },
      conditions: [{ eq_column: 'id', eq_value: '3' }],
    });
    expect(updated.body).toMatchObject({ status: 'success', data: { affected_rows: 1 } });
    const queried = await call('/public/notes-rw/query', { query: 'SELECT extra FROM notes WHERE id = 3' });
    expect(queried.body.data.rows).toEqual([{ extra: 'y' }]);
    const deleted = await call('/public/notes-rw/delete', { table_name: 'notes', resource_id: 3 });
    expect(deleted.body).toMatchObject({ data: { table_name: 'notes', resource_id: '3' } });
    const gone = await call('/public/notes-rw/delete', { table_name: 'notes', resource_id: 3 });
    expect(gone.status).toBe(404);
  });

  it('404 for an unknown route key, 403 for an inactive route or an op it does not allow, 400 for a bad op or body', async () => {
    const unknown = await call('/public/nope/fetch', { table_name: 'notes' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('public_route_not_found');
    const inactive = await call('/public/notes-off/fetch', { table_name: 'notes' });
    expect(inactive.status).toBe(403);
    expect(inactive.body.code).toBe('public_route_inactive');
    const notAllowed = await call('/public/notes-ro/insert', {
      table_name: 'notes',
      insert_body: { id: 9, body: 'n' },
    });
    expect(notAllowed.status).toBe(403);
    expect(notAllowed.body.code).toBe('public_route_op_not_allowed');
    expect(await t.sql('SELECT id FROM notes WHERE id = 9', [])).toHaveLength(0);
    const badOp = await call('/public/notes-rw/drop', { table_name: 'notes' });
    expect(badOp.status).toBe(400);
    const badBody = await call('/public/notes-rw/update', { table_name: 'notes', update_body: { body: 'x' } });
    expect(badBody.status).toBe(400);
    const badTable = await call('/public/notes-rw/fetch', { table_name: 'missing_table' });
    expect(badTable.status).toBe(400);
  });

  it('takes the admin key or a key bound to the route’s client, whatever its rights; nothing else', async () => {
    // A bound key without any gateway right: the route's allowed ops are the permission.
    const bound = await athenaKey(t, []);
    const ok = await call('/public/notes-ro/fetch', { table_name: 'notes', columns: ['id'] }, bound);
    expect(ok.status).toBe(200);
    expect(ok.body.data.length).toBeGreaterThan(0);
    const other = await athenaKey(t, ['gateway.fetch.execute'], 'elsewhere');
    const refused = await call('/public/notes-ro/fetch', { table_name: 'notes' }, other);
    expect(refused.status).toBe(403);
    const anonymous = await call('/public/notes-ro/fetch', { table_name: 'notes' }, null);
    expect(anonymous.status).toBe(401);
    const wrongKey = await call('/public/notes-ro/fetch', { table_name: 'notes' }, 'ath_nothing.nothing');
    expect(wrongKey.status).toBe(401);
    // The route's client is the one used, not a header: a key bound to `elsewhere` reaches only its route.
    const elsewhere = await call('/public/elsewhere-route/fetch', { table_name: 'notes' }, other);
    expect(elsewhere.status).toBe(503);
  });
});
