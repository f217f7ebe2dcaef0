import { randomBytes } from 'node:crypto';
import type { AthenaSession } from '../../../../prisma/generated/client/client.ts';
import { type CredentialCheck, type CredentialVerifier, productMismatch } from '../../../core/auth/authenticator.ts';
import { publishCredentialRevoked } from '../../../core/auth/credential-watch.ts';
import { type Principal, principalId } from '../../../core/auth/principal.ts';
import { sha256Hex } from '../../../core/auth/secrets.ts';
import type { PrismaClient } from '../../../core/db.ts';
import { AuthorizationError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { AppPubSub } from '../../../core/pubsub.ts';
import { boundClient, holdsRight, isAthenaAdmin } from '../athena.access.ts';
import { UnknownClientError } from '../athena.errors.ts';
import type { AthenaClientsService } from '../clients.service.ts';
import { ChatInvalidInputError, ChatNotFoundError } from './chat.errors.ts';

/*
 * Athena sessions (docs/athena.md, "Chat (G3)"): the identity of a chat caller — a user acting in one organization
 * on one client. The contract has no route that issues them, so GraphQL `createAthenaChatSession` does: the admin,
 * or an `ath_` key bound to the client holding `chat.sessions.issue` (the caller's own login system vouches for the
 * user and calls it server-side). The token `aths_<43 chars>` is shown once; the table keeps its SHA-256. Chat
 * identity is never read from a bare `X-User-Id` header.
 */

export const sessionTokenPrefix = 'aths_';
const defaultTtlSeconds = 24 * 3600;
const maxTtlSeconds = 30 * 24 * 3600;
const lastUsedResolutionMs = 60_000;
const idPattern = /^[A-Za-z0-9._:@-]{1,200}$/;

export type SessionPrincipal = Extract<Principal, { kind: 'userSession' }>;

export interface CreateSessionInput {
  clientName: string;
  userId: string;
  organizationId: string;
  ttlSeconds?: number | null;
}

/** May the caller issue or revoke sessions of `clientName`? */
function requireIssuer(principal: Principal, clientName: string): void {
  if (isAthenaAdmin(principal)) return;
  if (
    principal.kind === 'apiKey' &&
    boundClient(principal) === clientName &&
    holdsRight(principal, 'chat.sessions.issue')
  ) {
    return;
  }
  throw new AuthorizationError(
    'issuing chat sessions needs the admin key or a key bound to the client with chat.sessions.issue',
    principal,
  );
}

export class AthenaSessionsService implements CredentialVerifier {
  readonly kind = 'athenaSession';

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      pubsub: AppPubSub;
      logger: Logger;
      clients: AthenaClientsService;
    },
  ) {}

  claims(credential: string): boolean {
    return credential.startsWith(sessionTokenPrefix);
  }

  async verify(raw: string, request: { product?: string }): Promise<CredentialCheck> {
    if (productMismatch(request as never, 'athena')) return { ok: false, reason: 'wrong_product' };
    const row = await this.deps.prisma.athenaSession.findUnique({ where: { tokenHash: sha256Hex(raw) } });
    if (!row) return { ok: false, reason: 'invalid' };
    if (row.revokedAt) return { ok: false, reason: 'revoked' };
    const now = Date.now();
    if (row.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > lastUsedResolutionMs) {
      this.deps.prisma.athenaSession
        .update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } })
        .catch((e: unknown) => this.deps.logger.warn({ err: e, sessionId: row.id }, 'could not record session use'));
    }
    return { ok: true, principal: toPrincipal(row) };
  }

  /** Issues a session; the token is in the answer only. */
  async create(principal: Principal, input: CreateSessionInput): Promise<{ session: AthenaSession; token: string }> {
    requireIssuer(principal, input.clientName);
    if (!idPattern.test(input.userId)) throw new ChatInvalidInputError('userId must be 1-200 of A-Z a-z 0-9 . _ : @ -');
    if (!idPattern.test(input.organizationId)) {
      throw new ChatInvalidInputError('organizationId must be 1-200 of A-Z a-z 0-9 . _ : @ -');
    }
    const ttl = input.ttlSeconds ?? defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > maxTtlSeconds) {
      throw new ChatInvalidInputError(`ttlSeconds must be an integer from 60 to ${maxTtlSeconds}`);
    }
    if (!(await this.deps.clients.find(input.clientName))) throw new UnknownClientError(input.clientName);
    const token = `${sessionTokenPrefix}${randomBytes(32).toString('base64url')}`;
    const session = await this.deps.prisma.athenaSession.create({
      data: {
        tokenHash: sha256Hex(token),
        clientName: input.clientName,
        userId: input.userId,
        organizationId: input.organizationId,
        createdBy: principalId(principal),
        expiresAt: new Date(Date.now() + ttl * 1000),
      },
    });
    return { session, token };
  }

  /** One session, for its issuers (the admin, or a key of its client holding chat.sessions.issue). */
  async get(principal: Principal, id: string): Promise<AthenaSession> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.prisma.athenaSession.findUnique({ where: { id } }) : null;
    if (!row) throw new ChatNotFoundError(`Athena session "${id}" not found`);
    requireIssuer(principal, row.clientName);
    return row;
  }

  /** Revokes a session: its next request is refused and its open subscriptions end. Idempotent. */
  async revoke(principal: Principal, id: string): Promise<AthenaSession> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.prisma.athenaSession.findUnique({ where: { id } }) : null;
    if (!row) throw new ChatNotFoundError(`Athena session "${id}" not found`);
    requireIssuer(principal, row.clientName);
    if (row.revokedAt) return row;
    const updated = await this.deps.prisma.athenaSession.update({ where: { id }, data: { revokedAt: new Date() } });
    publishCredentialRevoked(this.deps.pubsub, [`session:${id}`]);
    return updated;
  }
}

export function toPrincipal(row: AthenaSession): SessionPrincipal {
  return {
    kind: 'userSession',
    id: row.id,
    product: 'athena',
    tenant: row.clientName,
    userId: row.userId,
    organizationId: row.organizationId,
    expiresAt: row.expiresAt,
  };
}

/** The session token of a `Cookie` header (`athena-auth.session-token` or `athena-auth.session_token`). */
export function sessionCookie(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join('; ') : header;
  if (!value) return undefined;
  for (const part of value.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    if (name === 'athena-auth.session-token' || name === 'athena-auth.session_token') {
      const v = part.slice(i + 1).trim();
      try {
        return decodeURIComponent(v) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
