import type { TokenService } from './jwt.ts';
import { adminPrincipal, type Principal, type Product } from './principal.ts';
import { secretMatcher } from './secrets.ts';

/** Why a credential was refused after it was recognised: a key control (IP, rate, quota, inactivity). */
export interface CredentialRefusal {
  /** 403 for a refusal that waiting does not cure, 429 for rate and quota limits. */
  status: 403 | 429;
  /** Stable machine-readable code, e.g. `ip_not_allowed`, `rate_limited`, `monthly_quota_exceeded`. */
  code: string;
  message: string;
  /** Seconds until a 429 may succeed. */
  retryAfter?: number;
  /** The GraphQL `extensions.code` (RATE_LIMITED, QUOTA_EXCEEDED; default FORBIDDEN). */
  graphqlCode?: string;
}

export type CredentialCheck =
  | {
      ok: true;
      principal: Principal;
      /** API keys: when the key was last used before this request (its creation if never), for inactivity rules. */
      previousUse?: Date;
    }
  | { ok: false; reason: 'invalid' | 'expired' | 'revoked' | 'wrong_product' }
  | { ok: false; reason: 'refused'; refusal: CredentialRefusal };

/** What a credential is presented for: the door (a product's REST surface, or GraphQL) and the caller's address. */
export interface CredentialRequest {
  /** A REST door's product: that product's credentials only. Undefined at the GraphQL door (any product's). */
  product?: Product;
  /** The socket peer address, for IP rules. */
  remoteAddress?: string;
  /** The request's `X-Forwarded-For`, honoured only when the peer is a configured trusted proxy. */
  forwardedFor?: string;
}

/**
 * One kind of credential a module resolves (API keys, DeepStore service tokens). `claims` must be cheap and
 * decide by shape alone (a prefix); the first verifier that claims a credential decides it.
 */
export interface CredentialVerifier {
  /** Names the kind in logs, e.g. `apiKey`. */
  kind: string;
  claims(credential: string): boolean;
  verify(credential: string, request: CredentialRequest): Promise<CredentialCheck>;
}

const maxCredentialLength = 4096;
const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Turns raw credentials into a Principal: the admin key and platform JWTs here; every other kind through the
 * verifiers modules register (in registry order). One instance per app.
 */
export class Authenticator {
  private readonly verifiers: CredentialVerifier[] = [];
  private readonly isAdminKey: (credential: string) => boolean;

  constructor(private readonly deps: { tokens: TokenService; adminKey: string }) {
    this.isAdminKey = secretMatcher(deps.adminKey);
  }

  /** Adds a credential kind; called while modules are created, before the server listens. */
  register(verifier: CredentialVerifier): void {
    if (this.verifiers.some((v) => v.kind === verifier.kind)) {
      throw new Error(`credential kind "${verifier.kind}" is registered twice`);
    }
    this.verifiers.push(verifier);
  }

  /** Resolves a bearer credential presented at a door (see CredentialRequest). */
  async authenticate(raw: string, request: CredentialRequest = {}): Promise<CredentialCheck> {
    const credential = raw.trim();
    if (credential === '' || credential.length > maxCredentialLength) return { ok: false, reason: 'invalid' };
    if (this.isAdminKey(credential)) return { ok: true, principal: adminPrincipal };
    if (jwtShape.test(credential)) return this.checkJwt(credential);
    const verifier = this.verifiers.find((v) => v.claims(credential));
    if (!verifier) return { ok: false, reason: 'invalid' };
    return verifier.verify(credential, request);
  }

  private async checkJwt(token: string): Promise<CredentialCheck> {
    try {
      const v = await this.deps.tokens.verify(token);
      return {
        ok: true,
        principal: { kind: 'jwt', id: v.subject, tokenUse: v.tokenUse, scopes: v.scopes, claims: v.payload },
      };
    } catch {
      return { ok: false, reason: 'invalid' };
    }
  }
}

/** Extracts the token of an `Authorization: Bearer <token>` header value; undefined when absent or malformed. */
export function bearerToken(header: string | string[] | undefined | null): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/** Product credentials a door does not accept answer `wrong_product`; a verifier calls this after its lookup. */
export function productMismatch(request: CredentialRequest, product: Product): boolean {
  return request.product !== undefined && request.product !== product;
}
