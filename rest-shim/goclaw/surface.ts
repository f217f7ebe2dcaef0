import { authenticateBearer } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import { goclawAgentOperations } from './agents.ts';
import { goclawApiKeyOperations } from './api-keys.ts';
import { goclawChatOperations, openAiErrorType } from './chat.ts';
import { goclawProviderOperations } from './providers.ts';
import { goclawTraceOperations } from './traces.ts';

/**
 * GoClaw's `Error` schema: `{error: message}`; on the chat completions path OpenAI's `{error: {message, type}}`
 * (which OpenAI SDKs parse) for every status except 401, where the contract declares the `Error` schema
 * (docs/decisions.md).
 */
export function goclawErrorBody(
  status: number,
  message: string,
  _code: string,
  _requestId: string,
  operationId?: string,
) {
  if (operationId === 'post_v1_chat_completions' && status !== 401)
    return { error: { message, type: openAiErrorType(status) } };
  return { error: message };
}

/**
 * GoClaw's door: `Authorization: Bearer <gateway token | API key>`. The Atrium admin key acts as the
 * gateway token (admin); API keys must be GoClaw keys. There is no "auth disabled" mode. Roles (viewer reads,
 * operator writes, admin keys) are checked by the GoClaw service and the access module's GraphQL fields.
 */
export const goclawSurface = defineSurface({
  product: 'goclaw',
  prefix: '/goclaw',
  contract: { file: 'goclaw.openapi.json' },
  errorBody: goclawErrorBody,
  authenticate: (request) => authenticateBearer(request, 'goclaw'),
  groups: [
    goclawApiKeyOperations,
    goclawProviderOperations,
    goclawAgentOperations,
    goclawChatOperations,
    goclawTraceOperations,
  ],
});
