import type { AthenaRight } from '../../src/modules/athena/athena.access.ts';
import { operationsFor } from '../engine/operation.ts';
import type { OperationPolicy } from '../engine/types.ts';

/**
 * What an Athena operation requires of its caller (docs/athena.md, Access):
 * - `admin`: the admin key (every `/admin/*` route, even where the contract forgot to declare it);
 * - `right`: a key bound to the request's `X-Athena-Client` holding that right (or the admin key); with API-key
 *   enforcement off, gateway rights need no key;
 * - `directUri`: a direct URI header replaces the `right` check (the URI's credentials authorize);
 * - neither: public (health, specs) — a presented credential is still verified.
 */
export interface AthenaPolicy extends OperationPolicy {
  admin?: boolean;
  right?: AthenaRight;
  /**
   * The route takes direct URI headers (`x-pg-uri`, …): with one, the URI's own credentials authorize (the
   * gateway checks them), so the door skips the `right` check against `X-Athena-Client`; a presented key is
   * still verified.
   */
  directUri?: boolean;
  /**
   * A chat route (`/chat/*`): the caller is an Athena session (`Authorization: Bearer aths_…` or the
   * `athena-auth.session-token` cookie) bound to the request's `X-Athena-Client`; nothing else is accepted (401).
   */
  chat?: boolean;
  /**
   * A managed-storage route (G12): the caller is an Athena session (`X-Athena-Auth-Session-Token`, the
   * `athena-auth.session-token` cookie or `Authorization: Bearer aths_…`) bound to `X-Athena-Client`; anything else
   * is 401 "Missing user or organization context". `public-read`: an anonymous caller passes too (public files).
   */
  storage?: 'session' | 'public-read';
}

export const { graphql, direct, group } = operationsFor<AthenaPolicy>();
