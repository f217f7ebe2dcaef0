import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { deepstoreClient, expectError, issueJwt } from '../kit/deepstore.ts';

let t: TestApp;
let ds: ReturnType<typeof deepstoreClient>;
let platform: string;
let id: string;
let svc: string;
const contract = await contractValidator('deepstore');

beforeAll(async () => {
  t = await startTestApp();
  ds = deepstoreClient(t, contract);
  platform = await issueJwt(t, 'alice', 'platform');
  const c = await ds.call('POST', '/databases', { token: platform, body: { name: 'input' } });
  id = c.body.databaseId;
  svc = c.body.serviceToken;
});
afterAll(async () => {
  await t?.close();
});

describe('DeepStore splits: list by time-range overlap', () => {
  it('rejects list parameters out of range', async () => {
    for (const limit of ['0', '1001', 'abc', '-1', '1.5']) {
      expectError(
        await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=1&limit=${limit}`, { token: svc }),
        400,
        /limit/,
      );
    }
    expectError(await ds.call('GET', `/databases/${id}/splits?startTimestamp=5&endTimestamp=1`, { token: svc }), 400);
    expectError(await ds.call('GET', `/databases/${id}/splits?startTimestamp=x&endTimestamp=1`, { token: svc }), 400);
    expectError(await ds.call('GET', `/databases/${id}/splits?startTimestamp=1`, { token: svc }), 400);
    expect(
      await ds.call('GET', `/databases/${id}/splits?startTimestamp=0&endTimestamp=1&limit=1000`, { token: svc }),
    ).toEqual({
      status: 200,
      body: { splits: [] },
    });
  });
});
