import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPrincipal } from '../../src/core/auth/principal.ts';
import { migrateChatSchema } from '../../src/modules/athena/chat/schema-runner.ts';
import {
  AthenaTestChatCreateSessionDocument,
  AthenaTestChatRevokeSessionDocument,
  AthenaTestChatRoomsDocument,
} from '../generated/athena.ts';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, athenaKey, startAthenaApp } from '../kit/athena.ts';
import { type ContractExpectations, contractValidator } from '../kit/contract.ts';

/*
 * G3 chat through real HTTP (docs/athena.md, "Chat (G3)"): Athena sessions at the door, rooms, members, messages
 * with their gap-free room_seq, idempotent sends, edits, soft deletes, read cursors, reactions, search, and the
 * errors the contract lists. Every JSON body the contract describes is validated against it.
 */

let t: AthenaTestApp;
let contract: ContractExpectations;

beforeAll(async () => {
  t = await startAthenaApp();
  contract = await contractValidator('athena');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

interface Res {
  status: number;
  body: any;
}

const org = `org_${randomUUID().slice(0, 8)}`;

async function session(
  userId: string,
  organizationId = org,
  clientName = t.client,
): Promise<{ token: string; id: string }> {
  const r = await gql(
    t.baseUrl,
    AthenaTestChatCreateSessionDocument,
    { clientName, userId, organizationId },
    t.adminKey,
  );
  const out = r.body.data?.createAthenaChatSession;
  if (out?.__typename !== 'MutationCreateAthenaChatSessionSuccess') throw new Error(JSON.stringify(r.body));
  return { token: out.data.token, id: out.data.session.uuid };
}

/** One chat call as a session (`Authorization: Bearer aths_…`), validated against the contract when it has a body. */
async function call(
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Res> {
  const res = await fetch(`${t.baseUrl}/athena${path}`, {
    method,
    headers: {
      'x-athena-client': t.client,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  const template = path
    .split('?')[0]
    ?.replace(/\/rooms\/[^/]+/, '/rooms/{room_id}')
    .replace(/\/messages\/(?!search)[^/]+/, (m) => (m.startsWith('/messages/') ? '/messages/{message_id}' : m))
    .replace(/\/members\/[^/]+/, '/members/{user_id}')
    .replace(/\/reactions\/[^/]+/, '/reactions/{emoji}') as string;
  if (res.status < 300) contract.expectValidResponse(method, template, res.status, parsed);
  return { status: res.status, body: parsed };
}

function expectError(r: Res, status: number, code?: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toMatchObject({ status: 'error', message: expect.any(String), error: expect.any(String) });
  if (code) expect(r.body.code).toBe(code);
}

async function group(token: string, members: string[], title = 'g'): Promise<string> {
  const r = await call(token, 'POST', '/chat/rooms', { kind: 'group', title, member_user_ids: members });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data.id;
}

describe('chat sessions at the door', () => {
  it('accepts only an Athena session bound to the X-Athena-Client, never a bare header', async () => {
    const alice = await session('alice');
    expectError(await call(null, 'GET', '/chat/rooms'), 401);
    expectError(
      await call(null, 'GET', '/chat/rooms', undefined, { 'x-user-id': 'alice', 'x-organization-id': org }),
      401,
    );
    expectError(await call(t.adminKey, 'GET', '/chat/rooms'), 401);
    expectError(await call('aths_not-a-session', 'GET', '/chat/rooms'), 401);
    const ok = await call(alice.token, 'GET', '/chat/rooms');
    expect(ok.status).toBe(200);
    // The session cookie is a carrier too.
    const cookie = await call(null, 'GET', '/chat/rooms', undefined, {
      cookie: `other=1; athena-auth.session-token=${alice.token}`,
    });
    expect(cookie.status).toBe(200);
    // Another client's header: refused.
    expectError(await call(alice.token, 'GET', '/chat/rooms', undefined, { 'x-athena-client': 'someone_else' }), 403);
    // A session is not a key for the other routes.
    const other = await fetch(`${t.baseUrl}/athena/admin/clients`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(other.status).toBe(401);
    // Only the admin or a client-bound key with chat.sessions.issue issues sessions.
    const plain = await athenaKey(t, ['gateway.fetch.execute']);
    const denied = await gql(
      t.baseUrl,
      AthenaTestChatCreateSessionDocument,
      {
        clientName: t.client,
        userId: 'x',
        organizationId: org,
      },
      plain,
    );
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const issuer = await athenaKey(t, ['chat.sessions.issue']);
    const issued = await gql(
      t.baseUrl,
      AthenaTestChatCreateSessionDocument,
      {
        clientName: t.client,
        userId: 'via-key',
        organizationId: org,
      },
      issuer,
    );
    expect(issued.body.data?.createAthenaChatSession.__typename).toBe('MutationCreateAthenaChatSessionSuccess');
    // Only its hash is stored.
    const row = await t.app.services.prisma.athenaSession.findUnique({ where: { id: alice.id } });
    expect(row?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(alice.token);
    // Revoked: refused at once.
    const revoked = await gql(t.baseUrl, AthenaTestChatRevokeSessionDocument, { id: alice.id }, t.adminKey);
    expect(revoked.body.data?.revokeAthenaChatSession.__typename).toBe('MutationRevokeAthenaChatSessionSuccess');
    expectError(await call(alice.token, 'GET', '/chat/rooms'), 401);
    // GraphQL: the same identity; another credential gets ChatSessionRequiredError.
    const bob = await session('bob-gql');
    const viaGql = await gql(t.baseUrl, AthenaTestChatRoomsDocument, {}, bob.token);
    expect(viaGql.body.data?.chatRooms.__typename).toBe('QueryChatRoomsSuccess');
    const asAdmin = await gql(t.baseUrl, AthenaTestChatRoomsDocument, {}, t.adminKey);
    expect(asAdmin.body.data?.chatRooms).toMatchObject({ __typename: 'ChatSessionRequiredError' });
  });
});

describe('rooms', () => {
  it('creates, lists, reads, updates and archives rooms inside the organization', async () => {
    const owner = await session('owner1');
    const member = await session('member1');
    const outsider = await session('outsider1');
    const foreign = await session('owner1', `${org}_other`);
    const created = await call(owner.token, 'POST', '/chat/rooms', {
      kind: 'channel',
      title: 'general',
      member_user_ids: ['member1'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'success', data: { kind: 'channel', title: 'general', version: 1 } });
    const id = created.body.data.id as string;
    expect(created.body.data.last_message_seq).toBe(0);

    const listed = await call(member.token, 'GET', '/chat/rooms');
    expect(listed.body.items.map((r: { id: string }) => r.id)).toContain(id);
    expect((await call(outsider.token, 'GET', '/chat/rooms')).body.items).toEqual([]);
    expect((await call(member.token, 'GET', `/chat/rooms/${id}`)).body.id).toBe(id);
    expectError(await call(outsider.token, 'GET', `/chat/rooms/${id}`), 403, 'chat_forbidden');
    // Another organization does not see it at all.
    expectError(await call(foreign.token, 'GET', `/chat/rooms/${id}`), 404, 'chat_not_found');
    expectError(await call(owner.token, 'GET', `/chat/rooms/${randomUUID()}`), 404);
    expectError(await call(owner.token, 'GET', '/chat/rooms/not-a-uuid'), 400);
    expectError(await call(owner.token, 'POST', '/chat/rooms', { kind: 'space' }), 400);

    expectError(await call(member.token, 'PATCH', `/chat/rooms/${id}`, { title: 'mine' }), 403);
    const renamed = await call(owner.token, 'PATCH', `/chat/rooms/${id}`, { title: 'renamed' });
    expect(renamed.body).toMatchObject({ title: 'renamed', version: 2 });

    const archived = await call(owner.token, 'POST', `/chat/rooms/${id}/archive`);
    expect(archived.body.archived_at).toEqual(expect.any(String));
    const again = await call(owner.token, 'POST', `/chat/rooms/${id}/archive`);
    expect(again.body).toEqual(archived.body);
    expect((await call(member.token, 'GET', '/chat/rooms')).body.items.map((r: { id: string }) => r.id)).not.toContain(
      id,
    );
    const withArchived = await call(member.token, 'GET', '/chat/rooms?include_archived=true&limit=200&offset=0');
    expect(withArchived.status, JSON.stringify(withArchived.body)).toBe(200);
    expect(withArchived.body.items.map((r: { id: string }) => r.id)).toContain(id);
    expectError(
      await call(owner.token, 'POST', `/chat/rooms/${id}/messages`, { body_text: 'late' }),
      409,
      'chat_room_archived',
    );
    expectError(await call(owner.token, 'GET', '/chat/rooms?limit=0'), 400);
  });

  it('keeps one dm per pair in an organization, whoever creates it', async () => {
    const a = await session('dm-a');
    const b = await session('dm-b');
    const first = await call(a.token, 'POST', '/chat/rooms', { kind: 'dm', member_user_ids: ['dm-b'] });
    expect(first.status).toBe(201);
    expectError(
      await call(b.token, 'POST', '/chat/rooms', { kind: 'dm', member_user_ids: ['dm-a'] }),
      409,
      'chat_duplicate_direct_room',
    );
    expectError(await call(a.token, 'POST', '/chat/rooms', { kind: 'dm', member_user_ids: ['dm-b', 'dm-c'] }), 400);
    expectError(await call(a.token, 'POST', `/chat/rooms/${first.body.data.id}/members`, { user_ids: ['dm-c'] }), 400);
    // Another organization may have its own dm for the same pair.
    const other = await session('dm-a', `${org}_2`);
    expect((await call(other.token, 'POST', '/chat/rooms', { kind: 'dm', member_user_ids: ['dm-b'] })).status).toBe(
      201,
    );
  });
});

describe('messages', () => {
  it('allocates gap-free room_seq, also under concurrent senders, and sends idempotently', async () => {
    const a = await session('seq-a');
    const b = await session('seq-b');
    const room = await group(a.token, ['seq-b']);
    const sends = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(i % 2 ? a.token : b.token, 'POST', `/chat/rooms/${room}/messages`, { body_text: `hello ${i}` }),
      ),
    );
    for (const s of sends) expect(s.status, JSON.stringify(s.body)).toBe(201);
    const seqs = sends.map((s) => s.body.data.room_seq as number).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

    const first = await call(a.token, 'POST', `/chat/rooms/${room}/messages`, {
      client_message_id: 'c-1',
      body_text: 'once',
      metadata_json: { k: 1 },
    });
    expect(first.status).toBe(201);
    const retry = await call(a.token, 'POST', `/chat/rooms/${room}/messages`, {
      client_message_id: 'c-1',
      body_text: 'once',
      metadata_json: { k: 1 },
    });
    expect(retry.status).toBe(201);
    expect(retry.body.data.id).toBe(first.body.data.id);
    expect(retry.body.data.room_seq).toBe(13);
    expectError(
      await call(a.token, 'POST', `/chat/rooms/${room}/messages`, { client_message_id: 'c-1', body_text: 'twice' }),
      409,
      'chat_idempotency_conflict',
    );
    // The same client id from another sender is another message.
    const fromB = await call(b.token, 'POST', `/chat/rooms/${room}/messages`, {
      client_message_id: 'c-1',
      body_text: 'b',
    });
    expect(fromB.body.data.room_seq).toBe(14);
    const roomNow = await call(a.token, 'GET', `/chat/rooms/${room}`);
    expect(roomNow.body).toMatchObject({ last_message_seq: 14, last_message_id: fromB.body.data.id });

    expectError(await call(a.token, 'POST', `/chat/rooms/${room}/messages`, {}), 400);
    expectError(
      await call(a.token, 'POST', `/chat/rooms/${room}/messages`, {
        body_text: 'with file',
        attachments: [{ file_id: 'f1', ordinal: 0 }],
      }),
      404,
      'chat_attachment_not_found',
    );
    const outsider = await session('seq-out');
    expectError(await call(outsider.token, 'POST', `/chat/rooms/${room}/messages`, { body_text: 'x' }), 403);
    expectError(
      await call(a.token, 'POST', `/chat/rooms/${room}/messages`, { reply_to_message_id: 'nope', body_text: 'x' }),
      400,
    );
  });

  it('pages by before_seq and after_seq; edits by the sender; deletes softly with redaction', async () => {
    const a = await session('page-a');
    const b = await session('page-b');
    const room = await group(a.token, ['page-b']);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const r = await call(a.token, 'POST', `/chat/rooms/${room}/messages`, { body_text: `m${i}` });
      ids.push(r.body.data.id);
    }
    const newest = await call(b.token, 'GET', `/chat/rooms/${room}/messages?limit=2`);
    expect(newest.body.items.map((m: { room_seq: number }) => m.room_seq)).toEqual([4, 5]);
    expect(newest.body.next_before_seq).toBe(4);
    const older = await call(b.token, 'GET', `/chat/rooms/${room}/messages?limit=2&before_seq=4`);
    expect(older.body.items.map((m: { room_seq: number }) => m.room_seq)).toEqual([2, 3]);
    const oldest = await call(b.token, 'GET', `/chat/rooms/${room}/messages?limit=2&before_seq=2`);
    expect(oldest.body).toMatchObject({ items: [{ room_seq: 1 }], next_before_seq: null });
    const after = await call(b.token, 'GET', `/chat/rooms/${room}/messages?after_seq=3`);
    expect(after.body.items.map((m: { room_seq: number }) => m.room_seq)).toEqual([4, 5]);
    expectError(await call(b.token, 'GET', `/chat/rooms/${room}/messages?limit=500`), 400);

    expectError(await call(b.token, 'PATCH', `/chat/rooms/${room}/messages/${ids[0]}`, { body_text: 'hack' }), 403);
    const edited = await call(a.token, 'PATCH', `/chat/rooms/${room}/messages/${ids[0]}`, { body_text: 'm1 fixed' });
    expect(edited.body).toMatchObject({ body_text: 'm1 fixed', room_seq: 1, edited_at: expect.any(String) });

    expectError(await call(b.token, 'DELETE', `/chat/rooms/${room}/messages/${ids[1]}`), 403);
    const deleted = await call(a.token, 'DELETE', `/chat/rooms/${room}/messages/${ids[1]}`);
    expect(deleted.body).toEqual({ ok: true, message_id: ids[1] });
    const timeline = await call(b.token, 'GET', `/chat/rooms/${room}/messages?after_seq=0`);
    const slot = timeline.body.items.find((m: { id: string }) => m.id === ids[1]);
    expect(slot).toMatchObject({ room_seq: 2, body_text: null, body_json: null, deleted_at: expect.any(String) });
    // Redacted at rest, not only in reads.
    const stored = await t.sql('SELECT body_text FROM athena_chat.chat_messages WHERE id = $1', [ids[1]]);
    expect(stored[0]?.body_text).toBeNull();
    expectError(
      await call(a.token, 'PATCH', `/chat/rooms/${room}/messages/${ids[1]}`, { body_text: 'back' }),
      409,
      'chat_message_deleted',
    );
    expectError(await call(a.token, 'DELETE', `/chat/rooms/${room}/messages/${randomUUID()}`), 404);
    expectError(await call(a.token, 'DELETE', `/chat/rooms/${room}/messages/xyz`), 400);
  });

  it('moves read cursors forward only, clamped to the last message', async () => {
    const a = await session('read-a');
    const b = await session('read-b');
    const room = await group(a.token, ['read-b']);
    const msgs: string[] = [];
    for (let i = 0; i < 3; i++) {
      msgs.push((await call(a.token, 'POST', `/chat/rooms/${room}/messages`, { body_text: `r${i}` })).body.data.id);
    }
    const toTwo = await call(b.token, 'POST', `/chat/rooms/${room}/read-cursor`, { message_id: msgs[1] });
    expect(toTwo.body).toEqual({ room_id: room, user_id: 'read-b', last_read_seq: 2, last_read_message_id: msgs[1] });
    const back = await call(b.token, 'POST', `/chat/rooms/${room}/read-cursor`, { seq: 1 });
    expect(back.body.last_read_seq).toBe(2);
    const beyond = await call(b.token, 'POST', `/chat/rooms/${room}/read-cursor`, { seq: 99 });
    expect(beyond.body).toMatchObject({ last_read_seq: 3, last_read_message_id: msgs[2] });
    expectError(await call(b.token, 'POST', `/chat/rooms/${room}/read-cursor`, {}), 400);
    expectError(await call(b.token, 'POST', `/chat/rooms/${room}/read-cursor`, { message_id: randomUUID() }), 404);
    const members = await call(a.token, 'GET', `/chat/rooms/${room}/members`);
    expect(members.body.find((m: { user_id: string }) => m.user_id === 'read-b').last_read_seq).toBe(3);
    // The sender has read what it sent.
    expect(members.body.find((m: { user_id: string }) => m.user_id === 'read-a').last_read_seq).toBe(3);
  });
});

describe('members, reactions and search', () => {
  it('adds and removes members by role', async () => {
    const owner = await session('mem-owner');
    const m1 = await session('mem-1');
    const room = await group(owner.token, ['mem-1']);
    expectError(await call(m1.token, 'POST', `/chat/rooms/${room}/members`, { user_ids: ['mem-2'] }), 403);
    const added = await call(owner.token, 'POST', `/chat/rooms/${room}/members`, {
      user_ids: ['mem-2', 'mem-3'],
      role: 'admin',
    });
    expect(added.status).toBe(200);
    expect(added.body.map((m: { user_id: string; role: string }) => [m.user_id, m.role])).toEqual([
      ['mem-owner', 'owner'],
      ['mem-1', 'member'],
      ['mem-2', 'admin'],
      ['mem-3', 'admin'],
    ]);
    expectError(
      await call(owner.token, 'POST', `/chat/rooms/${room}/members`, { user_ids: ['x'], role: 'owner' }),
      400,
    );
    const listed = await call(m1.token, 'GET', `/chat/rooms/${room}/members`);
    expect(listed.body).toHaveLength(4);
    expectError(await call(m1.token, 'DELETE', `/chat/rooms/${room}/members/mem-2`), 403);
    const admin = await session('mem-2');
    expectError(await call(admin.token, 'DELETE', `/chat/rooms/${room}/members/mem-owner`), 403);
    expect((await call(admin.token, 'DELETE', `/chat/rooms/${room}/members/mem-1`)).body).toEqual({
      ok: true,
      user_id: 'mem-1',
    });
    expectError(await call(owner.token, 'DELETE', `/chat/rooms/${room}/members/mem-1`), 404);
    // A removed member no longer reads the room.
    expectError(await call(m1.token, 'GET', `/chat/rooms/${room}/messages`), 403);
    // Anyone may leave.
    expect((await call(admin.token, 'DELETE', `/chat/rooms/${room}/members/mem-2`)).status).toBe(200);
  });

  it('counts reactions per emoji with the caller’s own reacted, Unicode emoji in the path', async () => {
    const a = await session('re-a');
    const b = await session('re-b');
    const room = await group(a.token, ['re-b']);
    const msg = (await call(a.token, 'POST', `/chat/rooms/${room}/messages`, { body_text: 'react to me' })).body.data
      .id;
    const one = await call(a.token, 'POST', `/chat/messages/${msg}/reactions`, { emoji: '👍' });
    expect(one.body).toEqual({ message_id: msg, reactions: [{ emoji: '👍', count: 1, reacted: true }] });
    await call(a.token, 'POST', `/chat/messages/${msg}/reactions`, { emoji: '👍' });
    const two = await call(b.token, 'POST', `/chat/messages/${msg}/reactions`, { emoji: '👍' });
    expect(two.body.reactions).toEqual([{ emoji: '👍', count: 2, reacted: true }]);
    const heart = await call(b.token, 'POST', `/chat/messages/${msg}/reactions`, { emoji: '❤️' });
    expect(heart.body.reactions).toHaveLength(2);
    const removed = await call(a.token, 'DELETE', `/chat/messages/${msg}/reactions/${encodeURIComponent('👍')}`);
    expect(removed.body.reactions).toEqual([
      { emoji: '👍', count: 1, reacted: false },
      { emoji: '❤️', count: 1, reacted: false },
    ]);
    expectError(await call(a.token, 'DELETE', `/chat/messages/${msg}/reactions/${encodeURIComponent('👍')}`), 404);
    const page = await call(b.token, 'GET', `/chat/rooms/${room}/messages`);
    expect(page.body.items[0].reactions).toEqual([
      { emoji: '👍', count: 1, reacted: true },
      { emoji: '❤️', count: 1, reacted: true },
    ]);
    const outsider = await session('re-out');
    expectError(await call(outsider.token, 'POST', `/chat/messages/${msg}/reactions`, { emoji: '👍' }), 403);
    await call(a.token, 'DELETE', `/chat/rooms/${room}/messages/${msg}`);
    expectError(await call(b.token, 'POST', `/chat/messages/${msg}/reactions`, { emoji: '🎉' }), 409);
  });

  it('searches only rooms the caller belongs to, never deleted messages', async () => {
    const a = await session('se-a');
    const b = await session('se-b');
    const shared = await group(a.token, ['se-b']);
    const secret = await group(a.token, []);
    await call(a.token, 'POST', `/chat/rooms/${shared}/messages`, { body_text: 'The quarterly zebra report is ready' });
    await call(a.token, 'POST', `/chat/rooms/${secret}/messages`, { body_text: 'private zebra notes' });
    const gone = await call(a.token, 'POST', `/chat/rooms/${shared}/messages`, { body_text: 'zebra draft to delete' });
    await call(a.token, 'DELETE', `/chat/rooms/${shared}/messages/${gone.body.data.id}`);

    const asB = await call(b.token, 'POST', '/chat/messages/search', { query: 'zebra report' });
    expect(asB.body.items).toHaveLength(1);
    expect(asB.body.items[0]).toMatchObject({
      room_id: shared,
      message: { body_text: 'The quarterly zebra report is ready' },
    });
    const asA = await call(a.token, 'POST', '/chat/messages/search', { query: 'zebra' });
    expect(asA.body.items.map((h: { room_id: string }) => h.room_id).sort()).toEqual([shared, secret].sort());
    const inRoom = await call(a.token, 'POST', '/chat/messages/search', { query: 'zebra', room_id: secret, limit: 5 });
    expect(inRoom.body.items).toHaveLength(1);
    expectError(await call(b.token, 'POST', '/chat/messages/search', { query: 'zebra', room_id: secret }), 403);
    expectError(await call(b.token, 'POST', '/chat/messages/search', { query: '   ' }), 400);
    // Offset paging of the rooms list.
    const first = (await call(a.token, 'GET', '/chat/rooms?limit=1')).body.items;
    const second = (await call(a.token, 'GET', '/chat/rooms?limit=1&offset=1')).body.items;
    const third = (await call(a.token, 'GET', '/chat/rooms?limit=1&offset=2')).body.items;
    expect([first.length, second.length, third.length]).toEqual([1, 1, 0]);
    expect([first[0].id, second[0].id].sort()).toEqual([shared, secret].sort());
  });
});

describe('the chat schema and the chat runtime', () => {
  it('is installed once by the versioned runner; an unreachable client is 503', async () => {
    const rows = await t.sql('SELECT version, name FROM athena_chat.schema_migrations ORDER BY version', []);
    expect(rows).toEqual([{ version: 1, name: 'chat_core' }]);
    const { db } = await t.app.services.athena.clients.database(t.client);
    expect(await migrateChatSchema(db)).toEqual([]);

    const down = `chatdown_${randomUUID().slice(0, 6)}`;
    await t.app.services.athena.clients.create(adminPrincipal, {
      clientName: down,
      pgUri: 'postgres://u:p@127.0.0.1:1/none',
    });
    const s = await session('down-user', org, down);
    const r = await fetch(`${t.baseUrl}/athena/chat/rooms`, {
      headers: { 'x-athena-client': down, authorization: `Bearer ${s.token}` },
    });
    const body = await r.json();
    expect(r.status, JSON.stringify(body)).toBe(503);
    expect(body).toMatchObject({ status: 'error', code: 'chat_unavailable' });
    expect(body.message).toContain('Chat runtime unavailable');
  });
});

describe('hostile input with a valid session', () => {
  it('answers 4xx in the error envelope, never a 5xx', async () => {
    const a = await session('hostile-a');
    const room = await group(a.token, []);
    const msg = (await call(a.token, 'POST', `/chat/rooms/${room}/messages`, { body_text: 'target' })).body.data.id;
    const big = '99999999999999';
    const probes: [string, string, unknown][] = [
      ['GET', `/chat/rooms?limit=${big}`, undefined],
      ['GET', '/chat/rooms?offset=-1', undefined],
      ['GET', '/chat/rooms?limit=abc', undefined],
      ['GET', `/chat/rooms/${room}/messages?before_seq=${big}`, undefined],
      ['GET', `/chat/rooms/${room}/messages?after_seq=-5`, undefined],
      ['POST', '/chat/rooms', { kind: 'group', member_user_ids: [1, 2] }],
      ['POST', '/chat/rooms', { kind: 'group', member_user_ids: ['bad id with spaces'] }],
      ['POST', '/chat/rooms', { kind: 'group', title: 'x'.repeat(5000) }],
      ['POST', '/chat/rooms', [1, 2, 3]],
      ['PATCH', `/chat/rooms/${room}`, { title: 7 }],
      ['POST', `/chat/rooms/${room}/messages`, { body_text: 'nul \u0000 byte' }],
      ['POST', `/chat/rooms/${room}/messages`, { body_json: [1, 2] }],
      ['POST', `/chat/rooms/${room}/messages`, { body_text: 'x'.repeat(20_000) }],
      ['POST', `/chat/rooms/${room}/messages`, { body_text: 'x', client_message_id: '' }],
      ['POST', `/chat/rooms/${room}/messages`, { body_text: 'x', attachments: [{ file_id: 'f' }] }],
      ['PATCH', `/chat/rooms/${room}/messages/${msg}`, {}],
      ['POST', `/chat/rooms/${room}/read-cursor`, { seq: Number(big) }],
      ['POST', `/chat/rooms/${room}/read-cursor`, { seq: -1 }],
      ['POST', `/chat/rooms/${room}/members`, { user_ids: [] }],
      ['POST', `/chat/rooms/${room}/members`, { user_ids: 'alice' }],
      ['POST', `/chat/rooms/${room}/members`, { user_ids: ['b'], role: 'king' }],
      ['DELETE', `/chat/rooms/${room}/members/${encodeURIComponent("'; DROP TABLE x; --")}`, undefined],
      ['POST', `/chat/messages/${msg}/reactions`, { emoji: '' }],
      ['POST', `/chat/messages/${msg}/reactions`, { emoji: '🎉'.repeat(100) }],
      ['DELETE', `/chat/messages/${msg}/reactions/%F0%9F`, undefined],
      ['POST', '/chat/messages/search', { query: 'x', limit: Number(big) }],
      ['POST', '/chat/messages/search', { query: 'x', room_id: 'nope' }],
    ];
    for (const [method, path, body] of probes) {
      const r = await call(a.token, method, path, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
      expect(r.body, `${method} ${path}`).toMatchObject({ status: 'error', message: expect.any(String) });
    }
    // A quoted search is just words.
    const quoted = await call(a.token, 'POST', '/chat/messages/search', { query: "target') OR ('1'='1" });
    expect(quoted.status).toBe(200);
  });
});
