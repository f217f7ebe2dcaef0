import type { Principal } from './auth/principal.ts';
import type { Services } from './services.ts';

/** The GraphQL context, the same for HTTP, WebSocket and REST-shim executions. */
export interface Context {
  principal: Principal;
  services: Services;
  requestId: string;
}
