import { type GraphQLSchema, validate } from 'graphql';
import type { Services } from '../src/core/services.ts';
import { deepstoreAuthenticator } from './deepstore/auth.ts';
import { deepstoreOperations } from './deepstore/handlers.ts';
import { createApiKey, listApiKeys, revokeApiKey } from './goclaw/api-keys.ts';
import { goclawAuthenticator } from './goclaw/auth.ts';
import { mcpV8Authenticator, mcpV8RequiresAuth } from './mcp-v8/auth.ts';
import {
  cancelExecutionHandler,
  cliDownloadHandler,
  cliIndexHandler,
  execHandler,
  executionOutputHandler,
  getExecutionHandler,
  listExecutionsHandler,
  versionHandler,
} from './mcp-v8/exec.ts';
import { fsLabels, fsLog, fsMerge, fsPush, fsReset, fsResolve, fsSetLabel } from './mcp-v8/fs.ts';
import { polykomosAuthenticator } from './polykomos/auth.ts';
import { polykomosBlueprintOperations } from './polykomos/blueprints.ts';
import { polykomosOperations } from './polykomos/handlers.ts';
import { polykomosIdempotency } from './polykomos/idempotency.ts';
import { polykomosWebhookOperations } from './polykomos/webhooks.ts';
import { createProductSurfaces } from './products.ts';
import type { ProductSurface, RestOperation } from './types.ts';

/** Operations served per product, keyed by operationId (contract's, or derived: see docs/rest-shim.md). */
function servedOperations(): Record<ProductSurface['product'], Record<string, RestOperation>> {
  return {
    atrium: {},
    athena: {},
    deepstore: deepstoreOperations,
    polykomos: { ...polykomosOperations, ...polykomosWebhookOperations, ...polykomosBlueprintOperations },
    goclaw: {
      get_v1_api_keys: listApiKeys,
      post_v1_api_keys: createApiKey,
      delete_v1_api_keys_by_id: revokeApiKey,
    },
    mcp_v8: {
      fs_labels_handler: fsLabels,
      fs_set_label_handler: fsSetLabel,
      fs_resolve_handler: fsResolve,
      fs_log_handler: fsLog,
      fs_push_handler: fsPush,
      fs_reset_handler: fsReset,
      fs_merge_handler: fsMerge,
      exec_handler: execHandler,
      list_executions_handler: listExecutionsHandler,
      get_execution_handler: getExecutionHandler,
      cancel_execution_handler: cancelExecutionHandler,
      get_execution_output_handler: executionOutputHandler,
      version_handler: versionHandler,
      cli_index_handler: cliIndexHandler,
      cli_download_handler: cliDownloadHandler,
    },
  };
}

/**
 * The five product surfaces with their implemented operations and, given services, their credential checks.
 * Without services (coverage reports) nothing can authenticate, so nothing could be served: do not mount those.
 */
export function createSurfaces(
  services?: Pick<Services, 'authenticator' | 'polykomos' | 'prisma' | 'logger'>,
): ProductSurface[] {
  const served = servedOperations();
  return createProductSurfaces().map((surface) => {
    switch (surface.product) {
      case 'goclaw':
        return {
          ...surface,
          ...(services ? { authenticate: goclawAuthenticator(services) } : {}),
          operations: served.goclaw,
        };
      case 'deepstore':
        return {
          ...surface,
          ...(services ? { authenticate: deepstoreAuthenticator(services) } : {}),
          operations: served.deepstore,
        };
      case 'polykomos':
        return {
          ...surface,
          ...(services
            ? { authenticate: polykomosAuthenticator(services), intercept: polykomosIdempotency(services) }
            : {}),
          operations: served.polykomos,
        };
      case 'mcp_v8':
        return {
          ...surface,
          ...(services ? { authenticate: mcpV8Authenticator(services) } : {}),
          requiresAuth: mcpV8RequiresAuth,
          operations: served.mcp_v8,
        };
      default:
        return { ...surface, operations: served[surface.product] };
    }
  });
}

/**
 * Validates every GraphQL document the REST surfaces execute against the schema, once. The server refuses to
 * start on a mismatch instead of failing the first request that uses a stale document.
 */
export function validateSurfaceDocuments(schema: GraphQLSchema, surfaces: ProductSurface[]): void {
  const problems: string[] = [];
  for (const surface of surfaces) {
    for (const [operationId, op] of Object.entries(surface.operations)) {
      if (op.kind !== 'graphql') continue;
      for (const error of validate(schema, op.document)) {
        problems.push(`${surface.product}.${operationId}: ${error.message}`);
      }
    }
  }
  if (problems.length > 0) throw new Error(`REST documents do not match the GraphQL schema:\n${problems.join('\n')}`);
}
