import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccessTestAuditEventsDocument, AccessTestNodesDocument } from '../generated/platform.ts';
import { gql, startTestApp, type TestApp } from '../kit/app.ts';
import { keyWithControls } from '../kit/key-controls.ts';

/*
 * ApiKey and AuditEvent are Nodes: node(id)/nodes(ids) resolve them for who may see them and answer null, with no
 * error, for unknown ids and for callers who may not (indistinguishable). auditEvents has totalCount.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

it('node(id) resolves keys and audit events for the admin, null for others and for unknown ids', async () => {
  const k = await keyWithControls(t.baseUrl, t.adminKey, { requestsPerMinute: 7 });
  const audit = await gql(t.baseUrl, AccessTestAuditEventsDocument, undefined, t.adminKey);
  const events = audit.body.data?.auditEvents;
  expect(events?.totalCount).toBe(await t.app.services.prisma.auditEvent.count());
  expect(events?.edges).toHaveLength(1);
  const auditId = events?.edges[0]?.node.id as string;
  const keyId = Buffer.from(`ApiKey:${k.id}`).toString('base64');
  const unknownKey = Buffer.from('ApiKey:99999999-9999-4999-8999-999999999999').toString('base64');
  const malformed = Buffer.from('ApiKey:not-a-uuid').toString('base64');

  const ids = { key: keyId, audit: auditId, unknown: unknownKey, malformed };
  const asAdmin = await gql(t.baseUrl, AccessTestNodesDocument, ids, t.adminKey);
  expect(asAdmin.body.errors).toBeUndefined();
  expect(asAdmin.body.data).toEqual({
    key: { __typename: 'ApiKey', id: keyId, uuid: k.id, product: 'polykomos', controls: { requestsPerMinute: 7 } },
    audit: { __typename: 'AuditEvent', id: auditId, action: expect.any(String), subjectId: expect.any(String) },
    unknown: null,
    malformed: null,
  });

  // A key of the same product without the admin scope sees neither, exactly as if they did not exist.
  const asKey = await gql(t.baseUrl, AccessTestNodesDocument, ids, k.raw);
  expect(asKey.body.errors).toBeUndefined();
  expect(asKey.body.data).toEqual({ key: null, audit: null, unknown: null, malformed: null });
});
