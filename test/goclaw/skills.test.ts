import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractCaller, goclawKey } from '../kit/goclaw.ts';

let t: TestApp;
let operator: string;
let viewer: string;
let call: Awaited<ReturnType<typeof contractCaller>>;

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_GOCLAW_SKILL_MAX_UNZIPPED_BYTES: String(2 * 1024 * 1024) });
  call = await contractCaller(t);
  [operator, viewer] = await Promise.all([goclawKey(t, ['operator.write']), goclawKey(t, ['operator.read'])]);
});
afterAll(async () => {
  await t?.close();
});

const skillMd = (name: string, extra = '') =>
  `---\nname: ${name}\ndescription: "Looks things up."\ntags: [search, web]\n${extra}---\n\n# ${name}\n\nUse it well.\n`;

function form(bytes: Uint8Array, filename = 'skill.zip'): FormData {
  const f = new FormData();
  f.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/zip' }), filename);
  return f;
}

const upload = (bytes: Uint8Array, token = operator, headers: Record<string, string> = {}) =>
  call('POST', '/v1/skills', { token, raw: form(bytes), headers });

describe('GoClaw /v1/skills', () => {
  it('uploads a ZIP (SKILL.md one level deep), parses its front matter, stores it and serves its metadata', async () => {
    const zip = zipSync({
      'web-lookup/SKILL.md': strToU8(skillMd('Web Lookup', 'version_note: first\n')),
      'web-lookup/scripts/run.js': strToU8('console.log(1)'),
    });
    const created = await upload(zip, operator, { 'x-goclaw-user-id': 'user-42' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Web Lookup',
      slug: 'web-lookup',
      description: 'Looks things up.',
      owner_id: 'user-42',
      visibility: 'private',
      version: 1,
      status: 'active',
      tags: ['search', 'web'],
      frontmatter: { name: 'Web Lookup', version_note: 'first' },
      file_size: zip.length,
      file_hash: createHash('sha256').update(zip).digest('hex'),
    });
    // The ZIP is in object storage under file_path, byte for byte.
    const stored = await t.app.services.objectStore.getObject(created.body.file_path);
    expect(stored?.body.equals(Buffer.from(zip))).toBe(true);

    const list = await call('GET', '/v1/skills', { token: viewer });
    expect(list.body.skills.map((s: { slug: string }) => s.slug)).toContain('web-lookup');
    expect((await call('GET', `/v1/skills/${created.body.id}`, { token: viewer })).body.id).toBe(created.body.id);
    expect((await call('GET', '/v1/skills/web-lookup', { token: viewer })).body.id).toBe(created.body.id);

    const put = await call('PUT', `/v1/skills/${created.body.id}`, {
      token: operator,
      body: { description: 'Better lookups.', visibility: 'public', tags: ['web'] },
    });
    expect(put).toMatchObject({ status: 200, body: { ok: 'true' } });
    const after = await call('GET', `/v1/skills/${created.body.id}`, { token: viewer });
    expect(after.body).toMatchObject({ description: 'Better lookups.', visibility: 'public', tags: ['web'] });

    // Re-uploading the slug as its owner replaces the archive and bumps the version.
    const v2 = zipSync({ 'SKILL.md': strToU8(skillMd('Web Lookup')) });
    const replaced = await upload(v2, operator, { 'x-goclaw-user-id': 'user-42' });
    expect(replaced.body).toMatchObject({ id: created.body.id, version: 2, file_size: v2.length });
    expect(await t.app.services.objectStore.getObject(created.body.file_path)).toBeNull();
    expect((await upload(v2, operator, { 'x-goclaw-user-id': 'someone-else' })).status).toBe(409);

    const del = await call('DELETE', `/v1/skills/${created.body.id}`, { token: operator });
    expect(del).toMatchObject({ status: 200, body: { ok: 'true' } });
    expect(await t.app.services.objectStore.getObject(replaced.body.file_path)).toBeNull();
    expect((await call('GET', `/v1/skills/${created.body.id}`, { token: viewer })).status).toBe(404);
  });

  it('answers 400 for bad archives: not a ZIP, no SKILL.md, zip-slip names, zip bombs, no file part', async () => {
    expect((await upload(strToU8('definitely not a zip'))).status).toBe(400);
    expect((await upload(zipSync({ 'README.md': strToU8('hi') }))).body.error).toMatch(/no SKILL\.md/);
    expect((await upload(zipSync({ 'a/b/SKILL.md': strToU8(skillMd('deep')) }))).status).toBe(400);
    const slip = await upload(zipSync({ 'SKILL.md': strToU8(skillMd('slip')), '../evil.sh': strToU8('rm -rf /') }));
    expect(slip.status).toBe(400);
    expect(slip.body.error).toMatch(/unsafe path/);
    // 8 MB of zeros compress to a few KB; inflating stops at the (test-lowered) 2 MB bound.
    const bomb = zipSync({ 'SKILL.md': strToU8(skillMd('bomb')), 'zeros.bin': new Uint8Array(8 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const bombed = await upload(bomb);
    expect(bombed.status).toBe(400);
    expect(bombed.body.error).toMatch(/exceed/);
    const truncated = zipSync({ 'SKILL.md': strToU8(skillMd('cut')) }).slice(0, 40);
    expect((await upload(truncated)).status).toBe(400);
    const noName = await upload(zipSync({ 'SKILL.md': strToU8('no front matter at all') }));
    expect(noName.status).toBe(400);

    const other = new FormData();
    other.append('note', 'no file');
    expect((await call('POST', '/v1/skills', { token: operator, raw: other })).status).toBe(400);
    expect((await call('POST', '/v1/skills', { token: operator, body: { file: 'x' } })).status).toBe(400);
    expect((await upload(zipSync({ 'SKILL.md': strToU8(skillMd('ro')) }), viewer)).status).toBe(403);
    expect((await call('PUT', '/v1/skills/nope', { token: operator, body: { visibility: 'everyone' } })).status).toBe(
      400,
    );
    expect((await call('DELETE', '/v1/skills/nope', { token: operator })).status).toBe(404);
  });
});
