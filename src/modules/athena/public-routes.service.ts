import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { AuthorizationError } from '../../core/errors.ts';
import { boundClient, isAthenaAdmin } from './athena.access.ts';
import { AthenaError } from './athena.errors.ts';
import { type GatewayRequestHeaders, type GatewayRoute, parseGatewayRequest } from './gateway/requests.ts';
import type { AthenaGatewayService, GatewayAnswer } from './gateway.service.ts';

/*
 * Public routes (`POST /public/{route_key}/{op}`, notes G1 and §1.1): an alias that forwards a gateway body to the
 * client its route names. The route is the permission: its `allowed_ops` say which operations it forwards, and the
 * caller is the admin key or a key bound to the route's client (notes §1.1 decision). The body is parsed by the
 * same parser as the gateway routes and run by the gateway service; the key's own rights are not consulted, the
 * route's ops are (a route key is handed to callers precisely so that they need no per-operation right).
 */

export class AthenaPublicRoutesService {
  constructor(private readonly deps: { prisma: PrismaClient; gateway: AthenaGatewayService }) {}

  /** 404 unknown key, 403 inactive route or op not allowed (or a key bound elsewhere), then the gateway's answer. */
  async dispatch(
    principal: Principal,
    input: { routeKey: string; op: GatewayRoute; body: unknown; headers?: GatewayRequestHeaders },
  ): Promise<GatewayAnswer> {
    if (principal.kind === 'anonymous') {
      throw new AuthorizationError('X-Athena-Key is required (the admin key or a key bound to the route)', principal);
    }
    const route =
      input.routeKey.length <= 200
        ? await this.deps.prisma.athenaPublicRoute.findUnique({ where: { routeKey: input.routeKey } })
        : null;
    if (!route) {
      throw new AthenaError('public_route_not_found', 404, `Unknown public route "${input.routeKey.slice(0, 80)}"`);
    }
    if (!route.isActive)
      throw new AthenaError('public_route_inactive', 403, `Public route "${route.routeKey}" is inactive`);
    if (!route.allowedOps.includes(input.op)) {
      throw new AthenaError(
        'public_route_op_not_allowed',
        403,
        `Public route "${route.routeKey}" does not allow ${input.op} (allowed: ${route.allowedOps.join(', ') || 'none'})`,
      );
    }
    if (!isAthenaAdmin(principal) && boundClient(principal) !== route.clientName) {
      throw new AuthorizationError('the key is not bound to the client of this public route', principal);
    }
    const request = parseGatewayRequest(input.op, input.body, input.headers);
    return this.deps.gateway.execute(principal, { client: route.clientName, request }, { authorized: true });
  }
}
