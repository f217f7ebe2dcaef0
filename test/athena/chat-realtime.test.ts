import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AthenaTestChatCreateSessionDocument, AthenaTestChatRevokeSessionDocument } from '../generated/athena.ts';
import { gql } from '../kit/app.ts';
import { type AthenaTestApp, startAthenaApp } from '../kit/athena.ts';

/*
 * Realtime chat over graphql-ws (docs/athena.md, "Chat (G3)"): the outbox published after commit reaches each
 * subscription kind; chatMessagePosted delivers in room_seq order, resumes from a seq without gaps or duplicates
 * (also while messages are being posted); a removed member's stream ends; a non-member cannot subscribe.
 */

let t: AthenaTestApp;
const sockets: Client[] = [];
const org = 'rt-org';

beforeAll(async () => {
  t = await startAthenaApp();
}, 120_000);

afterAll(async () => {
  for (const c of sockets) await c.dispose();
  await t?.close();
});

async function session(userId: string) {
  const r = await gql(
    t.baseUrl,
    AthenaTestChatCreateSessionDocument,
    { clientName: t.client, userId, organizationId: org },
    t.adminKey,
  );
  const out = r.body.data?.createAthenaChatSession;
  if (out?.__typename !== 'MutationCreateAthenaChatSessionSuccess') throw new Error(JSON.stringify(r.body));
  return { token: out.data.token as string, id: out.data.session.uuid as string };
}

async function rest(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.baseUrl}/athena${path}`, {
    method,
    headers: {
      'x-athena-client': t.client,
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const streams = () => t.app.services.athena.chat.openStreams;

async function until(check: () => boolean, what = 'condition', ms = 10_000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One graphql-ws subscription as `token`; resolves once the server has opened its stream. */
async function subscribe<T>(token: string, query: string, variables: Record<string, unknown>) {
  const client = createClient({
    url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  sockets.push(client);
  const events: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const before = streams();
  client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (r) => {
        if (r.data) events.push(Object.values(r.data)[0] as T);
        if (r.errors) errors.push(r.errors);
      },
      error: (e) => errors.push(e),
      complete: () => {
        completed = true;
      },
    },
  );
  await until(() => streams() > before || errors.length > 0, 'the subscription');
  return {
    events,
    errors,
    get completed() {
      return completed;
    },
    dispose: () => client.dispose(),
  };
}

const posted = `subscription ($roomId: String!, $afterSeq: Int) {
  chatMessagePosted(roomId: $roomId, afterSeq: $afterSeq) { uuid roomSeq bodyText senderId }
}`;

interface Posted {
  uuid: string;
  roomSeq: number;
  bodyText: string;
}

async function post(token: string, room: string, text: string) {
  const r = await rest(token, 'POST', `/chat/rooms/${room}/messages`, { body_text: text });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data as { id: string; room_seq: number };
}

describe('chat realtime', () => {
  it('delivers posted messages in order, and resumes from the last seq without gaps or duplicates', async () => {
    const alice = await session('alice');
    const bob = await session('bob');
    const room = (await rest(alice.token, 'POST', '/chat/rooms', { kind: 'group', member_user_ids: ['bob'] })).body.data
      .id as string;
    const live = await subscribe<Posted>(bob.token, posted, { roomId: room });
    for (const text of ['one', 'two', 'three']) await post(alice.token, room, text);
    await until(() => live.events.length >= 3, 'three live messages');
    expect(live.events.map((e) => [e.roomSeq, e.bodyText])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    // Bob goes away; messages keep coming.
    await live.dispose();
    await until(() => streams() === 0, 'the stream to close');
    for (const text of ['four', 'five']) await post(alice.token, room, text);
    // Bob comes back with the last seq he has: the missed ones first, then live, each once.
    const resumed = await subscribe<Posted>(bob.token, posted, { roomId: room, afterSeq: 3 });
    await post(alice.token, room, 'six');
    await until(() => resumed.events.length >= 3, 'replay then live');
    expect(resumed.events.map((e) => e.roomSeq)).toEqual([4, 5, 6]);

    // Resume while posting concurrently: every seq once, in order.
    const racing = subscribe<Posted>(bob.token, posted, { roomId: room, afterSeq: 0 });
    const sends = Promise.all(Array.from({ length: 8 }, (_, i) => post(alice.token, room, `burst ${i}`)));
    const during = await racing;
    await sends;
    await until(() => during.events.length >= 14 && resumed.events.length >= 11, 'all of them');
    expect(during.events.map((e) => e.roomSeq)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(resumed.events.map((e) => e.roomSeq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 4));
    expect([live.errors, resumed.errors, during.errors]).toEqual([[], [], []]);
    await resumed.dispose();
    await during.dispose();
  });

  it('streams edits, deletes, reactions, read cursors, membership and typing to members only', async () => {
    const owner = await session('owner');
    const peer = await session('peer');
    const outsider = await session('outsider');
    const room = (await rest(owner.token, 'POST', '/chat/rooms', { kind: 'group', member_user_ids: ['peer'] })).body
      .data.id as string;
    const edited = await subscribe<{ uuid: string; bodyText: string }>(
      peer.token,
      'subscription ($roomId: String!) { chatMessageEdited(roomId: $roomId) { uuid bodyText editedAt } }',
      { roomId: room },
    );
    const deleted = await subscribe<{ uuid: string; bodyText: string | null; deletedAt: string }>(
      peer.token,
      'subscription ($roomId: String!) { chatMessageDeleted(roomId: $roomId) { uuid bodyText deletedAt } }',
      { roomId: room },
    );
    const reactions = await subscribe<{
      messageId: string;
      reactions: { emoji: string; count: number; reacted: boolean }[];
    }>(
      peer.token,
      'subscription ($roomId: String!) { chatReactionsChanged(roomId: $roomId) { messageId reactions { emoji count reacted } } }',
      { roomId: room },
    );
    const cursors = await subscribe<{ userId: string; lastReadSeq: number }>(
      peer.token,
      'subscription ($roomId: String!) { chatReadCursorMoved(roomId: $roomId) { userId lastReadSeq } }',
      { roomId: room },
    );
    const membersSub = await subscribe<{ addedUserIds: string[]; members: { userId: string }[] }>(
      peer.token,
      'subscription ($roomId: String!) { chatMembersChanged(roomId: $roomId) { addedUserIds removedUserIds members { userId } } }',
      { roomId: room },
    );
    const typing = await subscribe<{ userId: string }>(
      peer.token,
      'subscription ($roomId: String!) { chatTyping(roomId: $roomId) { userId at } }',
      { roomId: room },
    );

    const m = await post(owner.token, room, 'draft');
    await post(peer.token, room, 'reply');
    await rest(owner.token, 'PATCH', `/chat/rooms/${room}/messages/${m.id}`, { body_text: 'final' });
    await rest(owner.token, 'POST', `/chat/messages/${m.id}/reactions`, { emoji: '🎉' });
    await rest(owner.token, 'POST', `/chat/rooms/${room}/read-cursor`, { seq: 2 });
    await rest(owner.token, 'POST', `/chat/rooms/${room}/members`, { user_ids: ['newcomer'] });
    const typed = await gql(
      t.baseUrl,
      'mutation ($r: String!) { sendChatTyping(roomId: $r) { __typename } }',
      { r: room },
      owner.token,
    );
    expect(typed.body.data?.sendChatTyping.__typename).toBe('MutationSendChatTypingSuccess');
    await rest(owner.token, 'DELETE', `/chat/rooms/${room}/messages/${m.id}`);

    await until(() => edited.events.length >= 1, 'an edit');
    expect(edited.events[0]).toMatchObject({ uuid: m.id, bodyText: 'final' });
    await until(() => reactions.events.length >= 2, 'reaction changes (added, then the delete clearing it)');
    expect(reactions.events[0]).toEqual({ messageId: m.id, reactions: [{ emoji: '🎉', count: 1, reacted: false }] });
    expect(reactions.events[1]).toEqual({ messageId: m.id, reactions: [] });
    await until(() => cursors.events.length >= 1, 'a read cursor');
    expect(cursors.events[0]).toEqual({ userId: 'owner', lastReadSeq: 2 });
    await until(() => membersSub.events.length >= 1, 'a members change');
    expect(membersSub.events[0]?.addedUserIds).toEqual(['newcomer']);
    expect(membersSub.events[0]?.members.map((x) => x.userId)).toContain('newcomer');
    await until(() => typing.events.length >= 1, 'typing');
    expect(typing.events[0]).toMatchObject({ userId: 'owner' });
    await until(() => deleted.events.length >= 1, 'a delete');
    expect(deleted.events[0]).toMatchObject({ uuid: m.id, bodyText: null, deletedAt: expect.any(String) });

    // Not a member: refused on subscribe.
    const refused = await subscribe(outsider.token, posted, { roomId: room });
    await until(() => refused.errors.length > 0, 'the refusal');
    expect(JSON.stringify(refused.errors)).toContain('not a member');

    // Removed: the stream ends with an error.
    const removedLive = await subscribe<Posted>(peer.token, posted, { roomId: room });
    await rest(owner.token, 'DELETE', `/chat/rooms/${room}/members/peer`);
    await until(() => removedLive.errors.length > 0, 'the end of a removed member’s stream');
    expect(JSON.stringify(removedLive.errors)).toContain('removed from this room');
    for (const s of [edited, deleted, reactions, cursors, membersSub, typing]) await s.dispose();
  });

  it('ends the subscriptions of a revoked session', async () => {
    const a = await session('rev-a');
    const room = (await rest(a.token, 'POST', '/chat/rooms', { kind: 'group' })).body.data.id as string;
    const sub = await subscribe<Posted>(a.token, posted, { roomId: room });
    await gql(t.baseUrl, AthenaTestChatRevokeSessionDocument, { id: a.id }, t.adminKey);
    await until(() => sub.errors.length > 0 || sub.completed, 'the revoked stream to end');
  });
});
