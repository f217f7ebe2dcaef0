import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractCaller, goclawCall, goclawKey } from '../kit/goclaw.ts';
import { startSlackStandIn } from '../kit/goclaw-slack.ts';
import { startTelegramStandIn } from '../kit/goclaw-telegram.ts';
import { type LlmStandin, startLlmStandin } from '../kit/llm-standin.ts';

let t: TestApp;
let operator: string;
let viewer: string;
let call: Awaited<ReturnType<typeof contractCaller>>;
let telegram: Awaited<ReturnType<typeof startTelegramStandIn>>;
let slack: Awaited<ReturnType<typeof startSlackStandIn>>;
let llm: LlmStandin;
const botToken = '7000001:stand-in-token';
const slackTokens = { bot: 'xoxb-stand-in', app: 'xapp-stand-in' };

beforeAll(async () => {
  telegram = await startTelegramStandIn([botToken]);
  slack = await startSlackStandIn(slackTokens);
  llm = await startLlmStandin();
  t = await startTestApp({
    ATRIUM_ALLOW_PRIVATE_OUTBOUND: 'true',
    ATRIUM_GOCLAW_TELEGRAM_API_BASE: telegram.apiBase,
    ATRIUM_GOCLAW_TELEGRAM_POLL_TIMEOUT_SECS: '1',
    ATRIUM_GOCLAW_SLACK_API_BASE: slack.apiBase,
  });
  call = await contractCaller(t);
  [operator, viewer] = await Promise.all([goclawKey(t, ['operator.write']), goclawKey(t, ['operator.read'])]);
});
afterAll(async () => {
  await t?.close();
  await telegram?.close();
  await slack?.close();
  await llm?.close();
});

/** An agent on the LLM stand-in (which answers `echo: <the user's text>`), for channels to route to. */
async function echoAgent(name: string): Promise<void> {
  const provider = await goclawCall(t, 'POST', '/v1/providers', {
    token: t.adminKey,
    body: { name: `${name}-llm`, provider_type: 'openai_compat', api_base: llm.openaiBase, api_key: 'k' },
  });
  expect(provider.status, JSON.stringify(provider.body)).toBe(201);
  const agent = await goclawCall(t, 'POST', '/v1/agents', {
    token: t.adminKey,
    body: { name, provider: `${name}-llm`, model: 'standin-small' },
  });
  expect(agent.status, JSON.stringify(agent.body)).toBe(201);
}

describe('GoClaw /v1/channels/instances', () => {
  it('stores instances with sealed, masked credentials and reports them not_connected', async () => {
    const created = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: {
        name: 'support-telegram',
        display_name: 'Support bot',
        channel_type: 'telegram',
        agent_id: 'support-bot',
        credentials: { bot_token: '123456:ABC-secret' },
        config: { dm_policy: 'open' },
        is_default: true,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'support-telegram',
      channel_type: 'telegram',
      agent_id: 'support-bot',
      credentials: { bot_token: '***' },
      config: { dm_policy: 'open' },
      is_default: true,
      enabled: true,
      status: 'not_connected',
    });
    expect(JSON.stringify(created.body)).not.toContain('ABC-secret');
    const row = await t.app.services.prisma.goClawChannelInstance.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row.credentialsEnc).not.toContain('ABC-secret');
    expect(t.app.services.secrets.openJson(row.credentialsEnc as string)).toEqual({ bot_token: '123456:ABC-secret' });

    const slack = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: { name: 'team-slack', channel_type: 'slack', credentials: { bot_token: 'xoxb-1', signing_secret: 's' } },
    });
    expect(slack.status).toBe(201);

    const list = await call('GET', '/v1/channels/instances', { token: viewer });
    expect(list.body).toMatchObject({ total: 2, limit: 50, offset: 0 });
    const telegram = await call('GET', '/v1/channels/instances?channel_type=telegram', { token: viewer });
    expect(telegram.body.instances.map((i: { name: string }) => i.name)).toEqual(['support-telegram']);
    const page = await call('GET', '/v1/channels/instances?limit=1&offset=1', { token: viewer });
    expect(page.body.instances.map((i: { name: string }) => i.name)).toEqual(['support-telegram']);
    const searched = await call('GET', '/v1/channels/instances?search=SUPPORT', { token: viewer });
    expect(searched.body.total).toBe(1);

    const put = await call('PUT', `/v1/channels/instances/${slack.body.id}`, {
      token: operator,
      body: { credentials: { bot_token: '***', signing_secret: 'new' }, enabled: false },
    });
    expect(put).toMatchObject({ status: 200, body: { status: 'updated' } });
    const slackRow = await t.app.services.prisma.goClawChannelInstance.findUniqueOrThrow({
      where: { id: slack.body.id },
    });
    expect(t.app.services.secrets.openJson(slackRow.credentialsEnc as string)).toEqual({
      bot_token: 'xoxb-1',
      signing_secret: 'new',
    });
    const got = await call('GET', `/v1/channels/instances/${slack.body.id}`, { token: viewer });
    expect(got.body).toMatchObject({ enabled: false, credentials: { bot_token: '***', signing_secret: '***' } });

    // The default instance stays; others go.
    const keep = await call('DELETE', `/v1/channels/instances/${created.body.id}`, { token: operator });
    expect(keep.status).toBe(400);
    expect(keep.body.error).toMatch(/default/);
    const del = await call('DELETE', `/v1/channels/instances/${slack.body.id}`, { token: operator });
    expect(del).toMatchObject({ status: 200, body: { status: 'deleted' } });
    expect((await call('GET', `/v1/channels/instances/${slack.body.id}`, { token: viewer })).status).toBe(404);
  });

  it('refuses bad input and viewers', async () => {
    for (const body of [
      { name: 'x', channel_type: 'carrier-pigeon' },
      { channel_type: 'slack' },
      { name: 'nokind' },
      { name: 'x', channel_type: 'slack', credentials: { token: 5 } },
      { name: 'x', channel_type: 'slack', config: 'open' },
      { name: 'x', channel_type: 'slack', agent_id: '../etc' },
      'just a string',
    ]) {
      const res = await call('POST', '/v1/channels/instances', { token: operator, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (await call('POST', '/v1/channels/instances', { token: viewer, body: { name: 'v', channel_type: 'slack' } }))
        .status,
    ).toBe(403);
    expect((await call('GET', '/v1/channels/instances?channel_type=fax', { token: viewer })).status).toBe(400);
    expect((await call('GET', '/v1/channels/instances?limit=abc', { token: viewer })).status).toBe(400);
    expect((await call('GET', '/v1/channels/instances/not-a-uuid', { token: viewer })).status).toBe(400);
  });
});

describe('GoClaw /v1/contacts and /v1/pending-messages', () => {
  it('lists contacts and pending groups from their tables and clears one group', async () => {
    const { prisma } = t.app.services;
    // Channel adapters write these; none runs in this build, so the test records them as one would.
    await prisma.goClawContact.createMany({
      data: [
        {
          channelType: 'telegram',
          channel: 'support-telegram',
          senderId: '1001',
          displayName: 'Ada Lovelace',
          peerKind: 'direct',
        },
        {
          channelType: 'telegram',
          channel: 'support-telegram',
          senderId: '-42',
          displayName: 'Engine room',
          peerKind: 'group',
        },
        { channelType: 'slack', channel: 'team-slack', senderId: 'U1', username: 'grace', peerKind: 'direct' },
      ],
    });
    await prisma.goClawPendingMessage.createMany({
      data: [
        { channel: 'support-telegram', key: '-42', sender: 'Ada', content: 'hello' },
        { channel: 'support-telegram', key: '-42', sender: 'Bob', content: 'hi' },
        { channel: 'team-slack', key: 'C1', sender: 'grace', content: 'standup?' },
      ],
    });

    const all = await call('GET', '/v1/contacts', { token: viewer });
    expect(all.body).toMatchObject({ total: 3, limit: 50, offset: 0 });
    const groups = await call('GET', '/v1/contacts?peer_kind=group', { token: viewer });
    expect(groups.body.contacts.map((c: { sender_id: string }) => c.sender_id)).toEqual(['-42']);
    const ada = await call('GET', '/v1/contacts?search=ada&channel_type=telegram', { token: viewer });
    expect(ada.body.contacts).toHaveLength(1);
    expect(ada.body.contacts[0]).toMatchObject({ display_name: 'Ada Lovelace', channel: 'support-telegram' });
    expect((await call('GET', '/v1/contacts?peer_kind=crowd', { token: viewer })).status).toBe(400);

    const pending = await call('GET', '/v1/pending-messages', { token: viewer });
    const byKey = Object.fromEntries(pending.body.groups.map((g: { key: string }) => [g.key, g]));
    expect(byKey['-42']).toMatchObject({ channel: 'support-telegram', message_count: 2 });
    expect(byKey.C1).toMatchObject({ channel: 'team-slack', message_count: 1 });

    expect((await call('DELETE', '/v1/pending-messages', { token: operator })).status).toBe(400);
    expect(
      (await call('DELETE', '/v1/pending-messages?channel=support-telegram&key=-42', { token: viewer })).status,
    ).toBe(403);
    const cleared = await call('DELETE', '/v1/pending-messages?channel=support-telegram&key=-42', { token: operator });
    expect(cleared).toMatchObject({ status: 200, body: { status: 'ok' } });
    const after = await call('GET', '/v1/pending-messages', { token: viewer });
    expect(after.body.groups.map((g: { key: string }) => g.key)).toEqual(['C1']);
  });
});

describe('GoClaw Telegram adapter (against a loopback Bot API stand-in)', () => {
  it('connects with a valid token, records contacts and group messages, and reports a bad token as error', async () => {
    const created = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: { name: 'live-telegram', channel_type: 'telegram', credentials: { bot_token: botToken } },
    });
    expect(created.status).toBe(201);
    const statusOf = async (id: string) =>
      (await goclawCall(t, 'GET', `/v1/channels/instances/${id}`, { token: viewer })).body;
    await vi.waitFor(async () => expect((await statusOf(created.body.id)).status).toBe('connected'), {
      timeout: 20_000,
      interval: 200,
    });

    telegram.push({
      message_id: 1,
      from: { id: 5001, first_name: 'Linus', username: 'linus' },
      chat: { id: -777, type: 'supergroup', title: 'Kernel' },
      text: 'patch incoming',
    });
    telegram.push({
      message_id: 2,
      from: { id: 5002, first_name: 'Ken' },
      chat: { id: 5002, type: 'private' },
      text: 'hi',
    });
    await vi.waitFor(
      async () => {
        const contacts = await call('GET', '/v1/contacts?channel_type=telegram', { token: viewer });
        const live = contacts.body.contacts.filter((c: { channel: string }) => c.channel === 'live-telegram');
        expect(live.map((c: { sender_id: string }) => c.sender_id).sort()).toEqual(['5001', '5002']);
      },
      { timeout: 20_000, interval: 200 },
    );
    const pending = await call('GET', '/v1/pending-messages', { token: viewer });
    expect(pending.body.groups.find((g: { key: string }) => g.key === '-777')).toMatchObject({
      channel: 'live-telegram',
      message_count: 1,
    });
    const contacts = await call('GET', '/v1/contacts?search=linus', { token: viewer });
    expect(contacts.body.contacts[0]).toMatchObject({
      display_name: 'Linus',
      username: 'linus',
      channel: 'live-telegram',
      peer_kind: 'group',
    });
    // The stored offset moved past what was delivered: nothing is recorded twice.
    await vi.waitFor(() => expect(telegram.calls.at(-1)?.offset).toBeGreaterThan(1001), {
      timeout: 20_000,
      interval: 100,
    });

    const bad = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: { name: 'bad-telegram', channel_type: 'telegram', credentials: { bot_token: '1:wrong' } },
    });
    await vi.waitFor(async () => expect((await statusOf(bad.body.id)).status).toBe('error'), {
      timeout: 20_000,
      interval: 200,
    });
    const failed = await statusOf(bad.body.id);
    expect(failed.last_error).toMatch(/getMe failed \(401\): Unauthorized/);
    expect(failed.last_error).not.toContain('1:wrong');

    // Disabled: the adapter lets go.
    await call('PUT', `/v1/channels/instances/${created.body.id}`, { token: operator, body: { enabled: false } });
    expect((await statusOf(created.body.id)).status).toBe('not_connected');
  });
});

describe('GoClaw channels route to their agent', () => {
  it('Telegram: a direct message runs the agent and the answer goes back with sendMessage', async () => {
    await echoAgent('tg-echo');
    const created = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: {
        name: 'agent-telegram',
        channel_type: 'telegram',
        agent_id: 'tg-echo',
        credentials: { bot_token: botToken },
      },
    });
    expect(created.status).toBe(201);
    await vi.waitFor(
      async () =>
        expect(
          (await goclawCall(t, 'GET', `/v1/channels/instances/${created.body.id}`, { token: viewer })).body.status,
        ).toBe('connected'),
      { timeout: 20_000, interval: 200 },
    );
    telegram.push({
      message_id: 10,
      from: { id: 6001, first_name: 'Grace' },
      chat: { id: 6001, type: 'private' },
      text: 'ping',
    });
    // A group message that does not mention the bot is only recorded.
    telegram.push({
      message_id: 11,
      from: { id: 6002, first_name: 'Alan' },
      chat: { id: -900, type: 'group' },
      text: 'lunch?',
    });
    await vi.waitFor(() => expect(telegram.sent).toContainEqual({ chat_id: '6001', text: 'echo: ping' }), {
      timeout: 20_000,
      interval: 100,
    });
    telegram.push({
      message_id: 12,
      from: { id: 6002, first_name: 'Alan' },
      chat: { id: -900, type: 'group' },
      text: '@stand_in_bot what time is it',
    });
    await vi.waitFor(
      () => expect(telegram.sent).toContainEqual({ chat_id: '-900', text: 'echo: @stand_in_bot what time is it' }),
      { timeout: 20_000, interval: 100 },
    );
    expect(telegram.sent.filter((m) => m.text === 'echo: lunch?')).toEqual([]);
    // The runs are traced like any other, on the channel's session (trace writes are batched: wait for them).
    // (The stand-in is one bot: this instance also receives the earlier test's updates.)
    await vi.waitFor(async () => {
      const traces = await t.app.services.prisma.goclawTrace.findMany({ where: { channel: 'channel' } });
      expect(traces.map((tr: { sessionKey: string }) => tr.sessionKey)).toEqual(
        expect.arrayContaining(['agent-telegram:-900', 'agent-telegram:6001']),
      );
    });

    await call('PUT', `/v1/channels/instances/${created.body.id}`, { token: operator, body: { enabled: false } });
  });

  it('Slack (Socket Mode): acknowledges envelopes, answers DMs and mentions in thread, reconnects on disconnect', async () => {
    await echoAgent('slack-echo');
    const created = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: {
        name: 'agent-slack',
        channel_type: 'slack',
        agent_id: 'slack-echo',
        credentials: { bot_token: slackTokens.bot, app_token: slackTokens.app },
      },
    });
    expect(created.status).toBe(201);
    const statusOf = async (id: string) =>
      (await goclawCall(t, 'GET', `/v1/channels/instances/${id}`, { token: viewer })).body;
    await vi.waitFor(
      async () => expect(await statusOf(created.body.id)).toMatchObject({ status: 'connected', last_error: null }),
      {
        timeout: 20_000,
        interval: 200,
      },
    );

    const dm = slack.push({
      type: 'message',
      channel: 'D1',
      channel_type: 'im',
      user: 'U7',
      text: 'hello bot',
      ts: '1.1',
    });
    await vi.waitFor(() => expect(slack.posted).toContainEqual({ channel: 'D1', text: 'echo: hello bot' }), {
      timeout: 20_000,
      interval: 100,
    });
    expect(slack.acks).toContain(dm);

    slack.push({
      type: 'message',
      channel: 'C9',
      channel_type: 'channel',
      user: 'U8',
      text: 'standup at 10',
      ts: '2.1',
    });
    slack.push({ type: 'message', subtype: 'bot_message', channel: 'C9', bot_id: 'B1', text: 'echo: loop', ts: '2.2' });
    slack.push({
      type: 'message',
      channel: 'C9',
      channel_type: 'channel',
      user: 'U8',
      text: '<@UBOT> summarise please',
      ts: '2.3',
    });
    await vi.waitFor(
      () =>
        expect(slack.posted).toContainEqual({
          channel: 'C9',
          text: 'echo: <@UBOT> summarise please',
          thread_ts: '2.3',
        }),
      { timeout: 20_000, interval: 100 },
    );
    expect(slack.posted.filter((p) => p.channel === 'C9')).toHaveLength(1);
    await vi.waitFor(async () => {
      const pending = await call('GET', '/v1/pending-messages', { token: viewer });
      expect(pending.body.groups.find((g: { key: string }) => g.key === 'C9')).toMatchObject({
        channel: 'agent-slack',
        message_count: 2,
      });
    });
    const contacts = await call('GET', '/v1/contacts?channel_type=slack', { token: viewer });
    expect(contacts.body.contacts.map((c: { sender_id: string }) => c.sender_id).sort()).toEqual(
      expect.arrayContaining(['U7', 'U8']),
    );

    // Slack asks the app to reconnect: a new socket opens and events keep flowing.
    const before = slack.connections;
    slack.disconnect();
    await vi.waitFor(() => expect(slack.connections).toBeGreaterThan(before), { timeout: 20_000, interval: 100 });
    slack.push({ type: 'message', channel: 'D1', channel_type: 'im', user: 'U7', text: 'still there?', ts: '3.1' });
    await vi.waitFor(() => expect(slack.posted).toContainEqual({ channel: 'D1', text: 'echo: still there?' }), {
      timeout: 20_000,
      interval: 100,
    });

    // A wrong app token: the instance reports the error, without the token.
    const bad = await call('POST', '/v1/channels/instances', {
      token: operator,
      body: {
        name: 'bad-slack',
        channel_type: 'slack',
        credentials: { bot_token: slackTokens.bot, app_token: 'xapp-wrong' },
      },
    });
    await vi.waitFor(async () => expect((await statusOf(bad.body.id)).status).toBe('error'), {
      timeout: 20_000,
      interval: 200,
    });
    const failed = await statusOf(bad.body.id);
    expect(failed.last_error).toMatch(/apps\.connections\.open failed \(200\): invalid_auth/);
    expect(failed.last_error).not.toContain('xapp-wrong');
    await call('PUT', `/v1/channels/instances/${created.body.id}`, { token: operator, body: { enabled: false } });
    await vi.waitFor(async () => expect((await statusOf(created.body.id)).status).toBe('not_connected'), {
      timeout: 20_000,
      interval: 200,
    });
  });
});
