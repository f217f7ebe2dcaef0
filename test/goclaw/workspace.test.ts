import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractCaller, goclawCall, goclawKey } from '../kit/goclaw.ts';

let t: TestApp;
let operator: string;
let viewer: string;
let call: Awaited<ReturnType<typeof contractCaller>>;
let workspace: string;
let outside: string;

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'goclaw-ws-'));
  outside = await mkdtemp(path.join(tmpdir(), 'goclaw-outside-'));
  await mkdir(path.join(workspace, 'notes/empty'), { recursive: true });
  await writeFile(path.join(workspace, 'AGENTS.md'), '# agents\n');
  await writeFile(path.join(workspace, 'notes/todo.txt'), 'buy milk');
  await writeFile(path.join(outside, 'secret.txt'), 'top secret');
  await symlink(outside, path.join(workspace, 'escape'));
  await symlink(path.join(outside, 'secret.txt'), path.join(workspace, 'secret-link.txt'));
  await symlink(path.join(workspace, 'notes/todo.txt'), path.join(workspace, 'todo-link.txt'));
  t = await startTestApp({ ATRIUM_GOCLAW_WORKSPACE: workspace });
  call = await contractCaller(t);
  [operator, viewer] = await Promise.all([goclawKey(t, ['operator.write']), goclawKey(t, ['operator.read'])]);
});
afterAll(async () => {
  await t?.close();
  await Promise.all([rm(workspace, { recursive: true, force: true }), rm(outside, { recursive: true, force: true })]);
});

describe('GoClaw /health', () => {
  it('answers the contract shape without a credential', async () => {
    const res = await call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', mode: 'managed', database: 'ok' });
    expect(Number.isInteger(res.body.uptime_ms)).toBe(true);
  });
});

describe('GoClaw /v1/media', () => {
  it('uploads to object storage and serves the bytes by header or ?token=, never as active content', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'dot.png');
    const up = await call('POST', '/v1/media/upload', { token: operator, raw: form });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ filename: 'dot.png', mime_type: 'image/png', size: png.length });
    expect(up.body.path).toBe(`/v1/media/${up.body.id}`);

    const byHeader = await fetch(`${t.baseUrl}/goclaw/v1/media/${up.body.id}`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(byHeader.status).toBe(200);
    expect(byHeader.headers.get('content-type')).toBe('image/png');
    expect(byHeader.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await byHeader.arrayBuffer()).equals(png)).toBe(true);
    const byQuery = await fetch(`${t.baseUrl}/goclaw/v1/media/${up.body.id}?token=${viewer}`);
    expect(byQuery.status).toBe(200);
    expect(byQuery.headers.get('content-disposition')).toMatch(/^inline/);
    expect((await fetch(`${t.baseUrl}/goclaw/v1/media/${up.body.id}?token=wrong`)).status).toBe(401);
    expect((await fetch(`${t.baseUrl}/goclaw/v1/media/${up.body.id}`)).status).toBe(401);
    // ?token= is only for media.
    expect((await goclawCall(t, 'GET', `/v1/skills?token=${viewer}`)).status).toBe(401);

    const html = new FormData();
    html.append('file', new Blob(['<script>alert(1)</script>'], { type: 'text/html' }), '../../x.html');
    const up2 = await call('POST', '/v1/media/upload', { token: operator, raw: html });
    expect(up2.body.filename).toBe('x.html');
    const served = await fetch(`${t.baseUrl}/goclaw/v1/media/${up2.body.id}?token=${viewer}`);
    expect(served.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(served.headers.get('content-security-policy')).toContain('sandbox');

    expect((await call('GET', '/v1/media/00000000-0000-4000-8000-000000000000', { token: viewer })).status).toBe(404);
    expect((await call('POST', '/v1/media/upload', { token: viewer, raw: form })).status).toBe(403);
    expect((await call('POST', '/v1/media/upload', { token: operator, body: { file: 'x' } })).status).toBe(400);
    const empty = new FormData();
    empty.append('file', new Blob([]), 'empty.bin');
    expect((await call('POST', '/v1/media/upload', { token: operator, raw: empty })).status).toBe(400);
  });
});

describe('GoClaw /v1/storage/files', () => {
  it('lists the workspace with no traversal and no symlink escape', async () => {
    const root = await call('GET', '/v1/storage/files', { token: viewer });
    expect(root.status).toBe(200);
    const names = root.body.files.map((f: { name: string }) => f.name);
    expect(names).toEqual(['AGENTS.md', 'notes', 'todo-link.txt']);
    expect(root.body.files.find((f: { name: string }) => f.name === 'notes')).toMatchObject({
      path: 'notes',
      isDir: true,
      hasChildren: true,
      protected: false,
    });
    expect(root.body.files.find((f: { name: string }) => f.name === 'AGENTS.md')).toMatchObject({
      isDir: false,
      size: 9,
    });

    const notes = await call('GET', '/v1/storage/files?path=notes', { token: viewer });
    expect(notes.body.files.map((f: { path: string }) => f.path)).toEqual(['notes/empty', 'notes/todo.txt']);
    expect(notes.body.files[0]).toMatchObject({ isDir: true, hasChildren: false });

    for (const bad of ['..', 'notes/../..', '../../etc', 'a/./b']) {
      const res = await call('GET', `/v1/storage/files?path=${encodeURIComponent(bad)}`, { token: viewer });
      expect(res.status, bad).toBe(400);
    }
    expect((await call('GET', '/v1/storage/files?path=escape', { token: viewer })).status).toBe(404);
    expect((await call('GET', '/v1/storage/files?path=nope', { token: viewer })).status).toBe(404);
    expect((await call('GET', '/v1/storage/files?path=AGENTS.md', { token: viewer })).status).toBe(400);
    expect((await call('GET', '/v1/storage/files')).status).toBe(401);
  });
});

describe('GoClaw /v1/activity and /v1/delegations', () => {
  it('audits writes and lists delegations from their table', async () => {
    await call('POST', '/v1/tools/custom', { token: operator, body: { name: 'audited', command: 'return 1;' } });
    const log = await call('GET', '/v1/activity?limit=2', { token: viewer });
    expect(log.status).toBe(200);
    expect(log.body).toMatchObject({ limit: 2, offset: 0 });
    expect(log.body.total).toBeGreaterThanOrEqual(3);
    expect(log.body.logs[0]).toMatchObject({
      action: 'custom_tool.create',
      entity_type: 'custom_tool',
      actor_type: 'apiKey',
    });
    const second = await call('GET', '/v1/activity?limit=1&offset=1', { token: viewer });
    expect(second.body.logs[0].id).toBe(log.body.logs[1].id);

    expect((await call('GET', '/v1/delegations', { token: viewer })).body).toEqual({ records: [], total: 0 });
    await t.app.services.prisma.goClawDelegation.create({
      data: {
        sourceAgentId: 'lead',
        targetAgentId: 'researcher',
        task: 'find sources',
        status: 'completed',
        result: '3 found',
      },
    });
    const recs = await call('GET', '/v1/delegations?agent_id=researcher', { token: viewer });
    expect(recs.body.total).toBe(1);
    expect(recs.body.records[0]).toMatchObject({
      source_agent_id: 'lead',
      target_agent_id: 'researcher',
      status: 'completed',
    });
    expect((await call('GET', '/v1/delegations?agent_id=nobody', { token: viewer })).body.total).toBe(0);
  });
});
