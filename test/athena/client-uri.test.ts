import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { createTestDatabase, postgresAdminUrl, startTestApp, type TestApp } from '../kit/app.ts';
import { reachable } from '../kit/reachable.ts';

/*
 * A client's sealed connection URI is opened once per ciphertext (src/modules/athena/opened-secrets.ts). These
 * requests prove the cache never answers with an old URI: after the URI changes, reads go to the new database at
 * once. Needs the local PostgreSQL (two real databases); skipped when it is unreachable.
 */
const postgresUp = await reachable(postgresAdminUrl);

describe.skipIf(!postgresUp)('Athena client URI changes (Postgres)', () => {
  let t: TestApp;
  const databases: { url: string; drop(): Promise<void> }[] = [];

  async function seeded(label: string) {
    const db = await createTestDatabase();
    databases.push(db);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('CREATE TABLE things (id integer PRIMARY KEY, label text NOT NULL)');
      await c.query('INSERT INTO things VALUES (1, $1)', [label]);
    } finally {
      await c.end();
    }
    return db.url;
  }

  async function label(): Promise<unknown> {
    const res = await fetch(`${t.baseUrl}/athena/rest/v1/things?id=eq.1`, {
      headers: { apikey: t.adminKey, 'x-athena-client': 'moving' },
    });
    const body = (await res.json()) as { data?: { label: string }[] };
    expect(res.status).toBe(200);
    return body.data?.[0]?.label;
  }

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    for (const db of databases) await db.drop();
  });

  it('reads the new database as soon as the URI changes, and the old one again when it changes back', async () => {
    const first = await seeded('first');
    const second = await seeded('second');
    const clients = t.app.services.athena.clients;
    await clients.create(adminPrincipal, { clientName: 'moving', pgUri: first });
    expect(await label()).toBe('first');
    expect(await label()).toBe('first');

    await clients.update(adminPrincipal, 'moving', { pgUri: second });
    expect(await label()).toBe('second');

    await clients.update(adminPrincipal, 'moving', { pgUri: first });
    expect(await label()).toBe('first');
  });

  it('answers 503 with the reason when the sealed URI cannot be opened by this server (another secret key)', async () => {
    const url = await seeded('sealed');
    await t.app.services.athena.clients.create(adminPrincipal, { clientName: 'foreign', pgUri: url });
    // What a row sealed by an instance with a different ATRIUM_SECRET_KEY looks like from here.
    await t.app.services.prisma
      .$executeRaw`UPDATE athena_clients SET pg_uri_enc = ${'v1.AAAA.BBBB.CCCC'} WHERE client_name = 'foreign'`;
    t.app.services.pubsub.publish('athena.clientChanged', { clientName: 'foreign' });
    let res: Response | undefined;
    for (let i = 0; i < 50; i++) {
      res = await fetch(`${t.baseUrl}/athena/rest/v1/things?id=eq.1`, {
        headers: { apikey: t.adminKey, 'x-athena-client': 'foreign' },
      });
      if (res.status !== 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(res?.status).toBe(503);
    const body = (await (res as Response).json()) as { message: string };
    expect(body.message).toMatch(/cannot be opened on this server/);
  });
});
