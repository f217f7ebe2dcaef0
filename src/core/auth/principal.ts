/** Products whose credential conventions Atrium honours. `atrium` is the platform itself. */
export const products = ['atrium', 'athena', 'deepstore', 'polykomos', 'goclaw', 'mcp_v8'] as const;
export type Product = (typeof products)[number];

/**
 * Who is calling, whatever the door (GraphQL over HTTP or WebSocket, or a product's REST headers).
 * Every context carries exactly one.
 */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'admin'; id: 'admin' }
  | {
      kind: 'apiKey';
      id: string;
      product: Product;
      name: string;
      scopes: readonly string[];
      /** When the key stops being valid, if it expires: what it opened (subscriptions) ends then. */
      expiresAt?: Date;
    }
  | {
      kind: 'jwt';
      id: string;
      tokenUse: string;
      scopes: readonly string[];
      claims: Readonly<Record<string, unknown>>;
    }
  | {
      /** An opaque DeepStore service token (`dss_…`), bound to one log database. */
      kind: 'serviceToken';
      id: string;
      product: 'deepstore';
      databaseId: string;
    }
  | {
      /**
       * A product's user session (Athena chat sessions, `aths_…`): an end user of one tenant (an Athena client),
       * acting in one organization. Issued by the product's module; never derived from a bare header.
       */
      kind: 'userSession';
      id: string;
      product: Product;
      /** The tenant the session is bound to (for Athena, the `X-Athena-Client` name). */
      tenant: string;
      userId: string;
      organizationId: string;
      /** When the session ends: what it opened (subscriptions) ends then. */
      expiresAt?: Date;
    };

export const anonymous: Principal = { kind: 'anonymous' };
export const adminPrincipal: Principal = { kind: 'admin', id: 'admin' };

/** A stable string naming the principal, stored as `created_by`/`actor_id`. */
export function principalId(p: Principal): string {
  switch (p.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'admin':
      return 'admin';
    case 'apiKey':
      return `apikey:${p.id}`;
    case 'jwt':
      return `jwt:${p.id}`;
    case 'serviceToken':
      return `servicetoken:${p.id}`;
    case 'userSession':
      return `session:${p.id}`;
  }
}
