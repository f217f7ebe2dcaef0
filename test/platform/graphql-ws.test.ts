import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type FormattedExecutionResult, print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  PlatformAuditEventActionDocument,
  PlatformAuditEventActorDocument,
  PlatformViewerKindDocument,
} from '../generated/platform.ts';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { createApiKey } from '../kit/platform.ts';

let t: TestApp;
const clients: Client[] = [];
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t?.close();
});

function wsClient(connectionParams?: Record<string, unknown>, onClosed?: (code: number) => void) {
  const client = createClient({
    url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: (e) => onClosed?.((e as { code: number }).code) },
    // Connection failures are asserted through `closed`; the default handler would print them.
    onNonLazyError: () => {},
  });
  clients.push(client);
  return client;
}

/** The first result of a subscription (typed by its document; a string for the malformed ones). */
function firstEvent<TData = unknown>(
  client: Client,
  document: TypedDocumentNode<TData, Record<string, never>> | string,
): { result: Promise<FormattedExecutionResult<TData, unknown> | undefined>; cancel: () => void } {
  const query = typeof document === 'string' ? document : print(document);
  let cancel = () => {};
  const result = new Promise<FormattedExecutionResult<TData, unknown> | undefined>((resolve, reject) => {
    cancel = client.subscribe<TData>({ query }, { next: resolve, error: reject, complete: () => resolve(undefined) });
  });
  return { result, cancel };
}

it('streams audit events to an admin over graphql-ws, with the same context and auth as HTTP', async () => {
  const client = wsClient({ authorization: `Bearer ${t.adminKey}` });
  const viewer = await new Promise((resolve, reject) =>
    client.subscribe(
      { query: print(PlatformViewerKindDocument) },
      { next: resolve, error: reject, complete: () => {} },
    ),
  );
  expect(viewer).toEqual({ data: { viewer: { kind: 'admin' } } });

  const sub = firstEvent(client, PlatformAuditEventActorDocument);
  await new Promise((r) => setTimeout(r, 200));
  const { uuid } = (await createApiKey(t.baseUrl, t.adminKey, { product: 'atrium', name: 'ws', scopes: [] })).apiKey;
  const event = await sub.result;
  sub.cancel();
  expect(event?.data?.auditEventRecorded).toEqual({ action: 'apiKey.created', subjectId: uuid, actorId: 'admin' });
});

it('refuses the subscription to anonymous and non-admin callers at subscribe time', async () => {
  // graphql-js reports an error thrown while setting up the source stream as one result carrying errors
  // (graphql-ws delivers it as `next`, then completes), not as a protocol-level `error` message.
  const anon = wsClient();
  const anonResult = await firstEvent(anon, PlatformAuditEventActionDocument).result;
  expect(anonResult?.data).toBeUndefined();
  expect(anonResult?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  const created = await createApiKey(t.baseUrl, t.adminKey, { product: 'atrium', name: 'reader', scopes: ['read'] });
  const reader = wsClient({ authorization: `Bearer ${created.rawKey}` });
  const readerResult = await firstEvent(reader, PlatformAuditEventActionDocument).result;
  expect(readerResult?.data).toBeUndefined();
  expect(readerResult?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
});

it('closes the connection (4403) when the connection params carry a wrong credential', async () => {
  const code = await new Promise<number>((resolve) => {
    const client = wsClient({ authorization: 'Bearer not-a-valid-key' }, resolve);
    client.subscribe(
      { query: print(PlatformViewerKindDocument) },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
  });
  expect(code).toBe(4403);
});

it('rejects invalid documents over WS with validation errors, and the server keeps serving', async () => {
  const client = wsClient({ authorization: `Bearer ${t.adminKey}` });
  // Strings on purpose: an unknown field and a syntax error, which no document file could hold.
  await expect(firstEvent(client, 'subscription { noSuchField }').result).rejects.toSatisfy(
    (errors: { message: string }[]) => errors.length > 0 && /noSuchField/.test(errors[0]?.message ?? ''),
  );
  await expect(firstEvent(client, 'subscription { ').result).rejects.toBeTruthy();
  expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
});
