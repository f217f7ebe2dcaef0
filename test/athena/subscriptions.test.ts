import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AthenaTestApp, athenaRest, startAthenaApp } from '../kit/athena.ts';

let t: AthenaTestApp;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startAthenaApp();
  await t.sql(`CREATE TABLE items (id serial PRIMARY KEY, kind text NOT NULL, label text)`);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t?.close();
});

const document = `subscription ($client: String!, $filter: AthenaFilterInput) {
  gatewayRowsChanged(client: $client, table: "items", filter: $filter, select: [{ column: "label" }]) { op rows keys }
}`;

interface Change {
  op: string;
  rows: { label: string }[];
  keys: { id: number }[];
}

/** A subscriber collecting events; `ready` resolves once the server has set the subscription up. */
function subscribe(filter: unknown) {
  const client = createClient({
    url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${t.adminKey}` },
    retryAttempts: 0,
  });
  clients.push(client);
  const events: Change[] = [];
  const errors: unknown[] = [];
  client.subscribe<{ gatewayRowsChanged: Change }>(
    { query: document, variables: { client: t.client, filter } },
    {
      next: (r) => {
        if (r.data) events.push(r.data.gatewayRowsChanged);
        if (r.errors) errors.push(r.errors);
      },
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  return { events, errors };
}

async function until(check: () => boolean, ms = 5000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('timed out waiting for events');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gatewayRowsChanged', () => {
  it('delivers gateway writes and outside writes to matching subscribers, one read per batch and filter', async () => {
    const a1 = subscribe({ column: 'kind', op: 'EQ', value: 'a' });
    const a2 = subscribe({ column: 'kind', op: 'EQ', value: 'a' });
    const b = subscribe({ column: 'kind', op: 'EQ', value: 'b' });
    // Every subscription is set up (trigger installed, LISTEN running) before anything is written.
    await until(() => t.app.services.athena.changes.subscriberCount() >= 3, 15_000);

    const before = t.app.services.athena.changes.batchReads;
    const ins = await athenaRest(t, 'POST', '/rest/v1/items', { body: [{ kind: 'a', label: 'via gateway' }] });
    expect(ins.status).toBe(200);
    await until(() => a1.events.length >= 1 && a2.events.length >= 1);
    expect(a1.events[0]).toMatchObject({ op: 'INSERT', rows: [{ label: 'via gateway' }] });
    expect(a2.events[0]).toEqual(a1.events[0]);
    // Two groups (kind=a, kind=b), one batch: two reads, whatever the number of subscribers.
    await new Promise((r) => setTimeout(r, 200));
    expect(t.app.services.athena.changes.batchReads - before).toBe(2);
    expect(b.events).toHaveLength(0);

    // A write that does not go through Atrium arrives too.
    await t.sql(`INSERT INTO items (kind, label) VALUES ('b', 'outside')`);
    await until(() => b.events.length >= 1);
    expect(b.events[0]).toMatchObject({ op: 'INSERT', rows: [{ label: 'outside' }] });

    await t.sql(`DELETE FROM items WHERE label = 'outside'`);
    await until(() => b.events.length >= 2);
    expect(b.events[1]).toMatchObject({ op: 'DELETE', rows: [] });
    expect(b.events[1]?.keys[0]).toHaveProperty('id');
    expect([a1.errors, a2.errors, b.errors]).toEqual([[], [], []]);
  });

  it('refuses a table without a primary key and an unknown column in the filter', async () => {
    await t.sql(`CREATE TABLE nokey (v int)`);
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${t.adminKey}`,
        accept: 'text/event-stream',
      },
      body: JSON.stringify({
        query: `subscription { gatewayRowsChanged(client: "${t.client}", table: "nokey") { op } }`,
      }),
    });
    const text = await res.text();
    expect(text).toContain('no primary key');
    const bad = subscribe({ column: 'nope', op: 'EQ', value: 1 });
    await until(() => bad.errors.length > 0);
  });
});
