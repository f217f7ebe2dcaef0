import { afterAll, beforeAll, expect, it } from 'vitest';
import { readTree } from '../../src/modules/snapshots/snapshots.service.ts';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { issueJwt } from '../kit/deepstore.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

/* Runs mount real snapshots (object storage + labels), end to end through the mcp-v8 REST surface. */
let t: TestApp;
const { call, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

it('a run on a new label starts empty; its tree is stored content-addressed, labelled, and mounted by the next run', async () => {
  const first = await run('await fs.writeFile("notes/a.txt", "alpha"); export default await fs.readdir("")', {
    fs: 'work',
  });
  expect(first.status, first.error).toBe('completed');
  expect(JSON.parse(first.result)).toEqual(['notes']);
  expect(first.fs).toMatch(/^[0-9a-f]{64}$/);
  const stored = await readTree(t.app.services, first.fs);
  expect(Buffer.from(stored.get('notes/a.txt') ?? []).toString()).toBe('alpha');

  // A run never moves a label: the caller points it at the result.
  expect((await call('GET', '/api/fs/labels/work')).status).toBe(404);
  const labelled = await call('POST', '/api/fs/labels', { body: { name: 'work', ca_id: first.fs } });
  expect(labelled.status).toBe(200);

  const second = await run(
    'const a = await fs.readFile("notes/a.txt", "utf8"); await fs.writeFile("b.txt", a + "+beta"); export default a',
    { fs: 'work' },
  );
  expect(second).toMatchObject({ status: 'completed', result: '"alpha"' });
  expect(second.fs).not.toBe(first.fs);
  const next = await readTree(t.app.services, second.fs);
  expect([...next.keys()].sort()).toEqual(['b.txt', 'notes/a.txt']);
  expect(Buffer.from(next.get('b.txt') ?? []).toString()).toBe('alpha+beta');
  // Identical content gives the identical id: mounting by CA id and changing nothing reports the same id.
  const same = await run('export default 1', { fs: second.fs });
  expect(same).toMatchObject({ status: 'completed', fs: second.fs });
});

it("labels are per tenant: another caller's run on the same label name mounts its own (empty) tree", async () => {
  const created = await run('await fs.writeFile("secret.txt", "s")', { fs: 'shared-name' });
  await call('POST', '/api/fs/labels', { body: { name: 'shared-name', ca_id: created.fs } });
  const bob = await issueJwt(t, 'bob', 'platform');
  const theirs = await run('export default await fs.readdir("")', { fs: 'shared-name' }, bob);
  expect(theirs).toMatchObject({ status: 'completed', result: '[]' });
});

it('answers 400 for an unknown CA id or a malformed ref, and runs nothing', async () => {
  for (const ref of ['0'.repeat(64), 'bad label/..']) {
    const res = await call('POST', '/api/exec', { body: { code: 'export default 1', fs: ref } });
    expect(res.status, ref).toBe(400);
    expect(res.body).toEqual({ error: expect.any(String) });
  }
});
