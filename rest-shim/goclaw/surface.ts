import { authenticateBearer } from '../engine/credentials.ts';
import { defineSurface } from '../engine/operation.ts';
import { goclawApiKeyOperations } from './api-keys.ts';
import { goclawChannelOperations } from './channels.ts';
import { goclawMcpServerOperations } from './mcp-servers.ts';
import { type GoClawPolicy, withQueryToken } from './query-token.ts';
import { goclawSkillOperations } from './skills.ts';
import { goclawToolOperations } from './tools.ts';
import { goclawWorkspaceOperations } from './workspace.ts';

/** GoClaw's `Error` schema: `{error: message}`. */
export function goclawErrorBody(_status: number, message: string, _code: string, _requestId: string) {
  return { error: message };
}

/**
 * GoClaw's door: `Authorization: Bearer <gateway token | API key>`. The Atrium admin key acts as the
 * gateway token (admin); API keys must be GoClaw keys. There is no "auth disabled" mode. Operations whose policy
 * says `tokenInQuery` (media) also take the credential as `?token=`.
 */
export const goclawSurface = defineSurface<GoClawPolicy>({
  product: 'goclaw',
  prefix: '/goclaw',
  contract: { file: 'goclaw.openapi.json' },
  errorBody: goclawErrorBody,
  authenticate: (request) => authenticateBearer(withQueryToken(request), 'goclaw'),
  groups: [
    goclawApiKeyOperations,
    goclawMcpServerOperations,
    goclawToolOperations,
    goclawSkillOperations,
    goclawChannelOperations,
    goclawWorkspaceOperations,
  ],
});
