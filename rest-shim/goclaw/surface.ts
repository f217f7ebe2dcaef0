import { authenticateBearer } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import { goclawAgentOperations } from './agents.ts';
import { goclawApiKeyOperations } from './api-keys.ts';
import { goclawChannelOperations } from './channels.ts';
import { goclawChatOperations, openAiErrorType } from './chat.ts';
import { goclawKgOperations } from './kg.ts';
import { goclawMcpServerOperations } from './mcp-servers.ts';
import { goclawMemoryOperations } from './memory.ts';
import { goclawProviderOperations } from './providers.ts';
import { type GoClawPolicy, withQueryToken } from './query-token.ts';
import { goclawSkillOperations } from './skills.ts';
import { goclawToolOperations } from './tools.ts';
import { goclawTraceOperations } from './traces.ts';
import { goclawWorkspaceOperations } from './workspace.ts';
import { goclawWsEndpoint } from './ws/connection.ts';

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
 * gateway token (admin); API keys must be GoClaw keys. There is no "auth disabled" mode. Operations whose policy
 * says `tokenInQuery` (media) also take the credential as `?token=`. Roles (viewer reads, operator writes, admin
 * keys) are checked by the services and the access module's GraphQL fields. `/ws` is the WebSocket RPC
 * (ws/connection.ts): its credential arrives in the `connect` request and goes through this same door.
 */
export const goclawSurface = defineSurface<GoClawPolicy>({
  product: 'goclaw',
  prefix: '/goclaw',
  contract: { file: 'goclaw.openapi.json' },
  errorBody: goclawErrorBody,
  authenticate: (request) => authenticateBearer(withQueryToken(request), 'goclaw'),
  groups: [
    goclawApiKeyOperations,
    goclawProviderOperations,
    goclawAgentOperations,
    goclawChatOperations,
    goclawTraceOperations,
    goclawMcpServerOperations,
    goclawToolOperations,
    goclawSkillOperations,
    goclawChannelOperations,
    goclawWorkspaceOperations,
    goclawMemoryOperations,
    goclawKgOperations,
  ],
  // The contract says "POST /ws (upgrade)"; upgrades are GET (a plain request there answers 426).
  websockets: { '/ws': goclawWsEndpoint },
});
