import { type CreateApiKeyInput, PlatformCreateApiKeyDocument } from '../generated/platform.ts';
import { gql } from './app.ts';

/** Creates an API key as `adminKey`; anything but success fails the test with the answer it got. */
export async function createApiKey(baseUrl: string, adminKey: string, input: CreateApiKeyInput) {
  const res = await gql(baseUrl, PlatformCreateApiKeyDocument, { input }, adminKey);
  const created = res.body.data?.createApiKey;
  if (created?.__typename !== 'MutationCreateApiKeySuccess') throw new Error(`no key: ${JSON.stringify(res.body)}`);
  return created.data;
}
