import { print } from 'graphql';
import { expect } from 'vitest';
import {
  KeyControlsCreateKeyDocument,
  KeyControlsSetDocument,
  KeyControlsViewerDocument,
  type SetApiKeyControlsInput,
} from '../generated/platform.ts';
import { gql } from './app.ts';

/** A Polykomos key (any product's key would do: the controls are the access module's) with the given controls. */
export async function keyWithControls(
  baseUrl: string,
  adminKey: string,
  controls: SetApiKeyControlsInput,
): Promise<{ raw: string; id: string }> {
  const created = await gql(
    baseUrl,
    KeyControlsCreateKeyDocument,
    { input: { product: 'polykomos', name: 'controlled', scopes: [] } },
    adminKey,
  );
  const data = created.body.data?.createApiKey;
  if (data?.__typename !== 'MutationCreateApiKeySuccess') throw new Error(JSON.stringify(created.body));
  const set = await gql(baseUrl, KeyControlsSetDocument, { id: data.data.apiKey.id, input: controls }, adminKey);
  expect(set.body.data?.setApiKeyControls?.__typename, JSON.stringify(set.body)).toBe(
    'MutationSetApiKeyControlsSuccess',
  );
  return { raw: data.data.rawKey, id: data.data.apiKey.uuid };
}

/** GraphQL `viewer` as the key: the data, or the refusal's code, HTTP status and Retry-After. */
export async function graphqlAs(baseUrl: string, key: string) {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: print(KeyControlsViewerDocument) }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: any }[] };
  return {
    status: res.status,
    code: body.errors?.[0]?.extensions?.code as string | undefined,
    message: body.errors?.[0]?.message,
    retryAfter: res.headers.get('retry-after'),
    data: body.data,
  };
}

/** Polykomos REST `GET /me` as the key. */
export async function restAs(baseUrl: string, key: string) {
  const res = await fetch(`${baseUrl}/polykomos/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any, retryAfter: res.headers.get('retry-after') };
}
