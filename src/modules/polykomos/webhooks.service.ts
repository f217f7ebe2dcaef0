import type { Principal } from '../../core/auth/principal.ts';
import { WebhookError } from '../webhooks/webhooks.errors.ts';
import type {
  Page,
  WebhookDeliveryRow,
  WebhookEndpointRow,
  WebhookOwner,
  WebhookService,
} from '../webhooks/webhooks.service.ts';
import {
  PolykomosConflictError,
  PolykomosError,
  PolykomosForbiddenError,
  PolykomosInvalidInputError,
  PolykomosNotFoundError,
  PolykomosRejectedError,
} from './polykomos.errors.ts';
import { type PolykomosService, requireScope } from './polykomos.service.ts';
import { polykomosWebhooks } from './webhook-events.ts';

export { parseId } from '../webhooks/webhooks.service.ts';
export type { WebhookDeliveryRow, WebhookEndpointRow };

/**
 * Polykomos' webhooks on the shared engine (src/modules/webhooks, docs/webhooks.md): this layer checks the
 * `webhooks:*` scopes, resolves the caller's user (endpoints belong to users, as databases do; the admin sees all)
 * and answers the engine's failures as PolykomosErrors with the same code and status.
 */
export class PolykomosWebhookService {
  constructor(private readonly deps: { polykomos: PolykomosService; webhooks: WebhookService }) {}

  private async owner(principal: Principal): Promise<WebhookOwner> {
    if (principal.kind === 'admin') return { product: polykomosWebhooks.product, ownerId: null };
    return { product: polykomosWebhooks.product, ownerId: (await this.deps.polykomos.account(principal)).ownerId };
  }

  /** Creates an endpoint (the admin's own endpoints belong to the user `admin`). The secret is returned once. */
  createEndpoint(principal: Principal, input: { url: string; events?: readonly string[] | null }) {
    return polykomosErrors(async () => {
      requireScope(principal, 'webhooks:write');
      const ownerId = (await this.deps.polykomos.account(principal)).ownerId;
      return this.deps.webhooks.createEndpoint({ product: polykomosWebhooks.product, ownerId }, input);
    });
  }

  /** The caller's endpoints (revoked included), newest first; `startingAfter` is the previous page's last id. */
  listEndpoints(principal: Principal, limit: number, startingAfter?: number | null): Promise<Page<WebhookEndpointRow>> {
    return polykomosErrors(async () => {
      requireScope(principal, 'webhooks:read');
      return this.deps.webhooks.listEndpoints(await this.owner(principal), { first: limit, after: startingAfter });
    });
  }

  getEndpoint(principal: Principal, id: number, scope = 'webhooks:read'): Promise<WebhookEndpointRow> {
    return polykomosErrors(async () => {
      requireScope(principal, scope);
      return this.deps.webhooks.getEndpoint(await this.owner(principal), id);
    });
  }

  /** For node(id): the caller's endpoint, or null for missing, another user's, or a key without webhooks:read. */
  async findEndpoint(principal: Principal, id: number): Promise<WebhookEndpointRow | null> {
    try {
      requireScope(principal, 'webhooks:read');
      return await this.deps.webhooks.findEndpoint(await this.owner(principal), id);
    } catch {
      return null;
    }
  }

  /** For node(id): a delivery of one of the caller's endpoints, or null. */
  async findDelivery(principal: Principal, id: number): Promise<WebhookDeliveryRow | null> {
    try {
      requireScope(principal, 'webhooks:read');
      return await this.deps.webhooks.findDelivery(await this.owner(principal), id);
    } catch {
      return null;
    }
  }

  /** Soft revoke: status `revoked`, no new deliveries; deliveries stay listable. Revoking twice is a no-op. */
  revokeEndpoint(principal: Principal, id: number): Promise<WebhookEndpointRow> {
    return polykomosErrors(async () => {
      requireScope(principal, 'webhooks:write');
      return this.deps.webhooks.revokeEndpoint(await this.owner(principal), id);
    });
  }

  /** Deliveries of one of the caller's endpoints, newest first. */
  listDeliveries(
    principal: Principal,
    endpointId: number,
    limit: number,
    startingAfter?: number | null,
  ): Promise<Page<WebhookDeliveryRow>> {
    return polykomosErrors(async () => {
      requireScope(principal, 'webhooks:read');
      return this.deps.webhooks.listDeliveries(await this.owner(principal), endpointId, {
        first: limit,
        after: startingAfter,
      });
    });
  }

  /** One synchronous, real, signed POST of a `webhook.test` event; recorded as a test delivery. */
  testDelivery(principal: Principal, endpointId: number): Promise<WebhookDeliveryRow> {
    return polykomosErrors(async () => {
      requireScope(principal, 'webhooks:write');
      return this.deps.webhooks.testDelivery(await this.owner(principal), endpointId);
    });
  }
}

/** One engine failure as the typed Polykomos failure of the same status (GraphQL tells them apart by type). */
function asPolykomosError(err: WebhookError): PolykomosError {
  switch (err.httpStatus) {
    case 400:
      return new PolykomosInvalidInputError(err.message);
    case 403:
      return new PolykomosForbiddenError('FORBIDDEN', err.message);
    case 404:
      return new PolykomosNotFoundError(err.message);
    case 409:
      return new PolykomosConflictError(err.message);
    case 422:
      return new PolykomosRejectedError(err.code, err.message);
    default:
      return new PolykomosError(err.code, err.httpStatus, err.message);
  }
}

/** The engine's expected failures as Polykomos' (same code and status, so REST answers are unchanged). */
async function polykomosErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof WebhookError) throw asPolykomosError(err);
    throw err;
  }
}
