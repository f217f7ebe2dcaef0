import type { AppPubSub } from '../pubsub.ts';
import { type Principal, principalId } from './principal.ts';

declare module '../pubsub.ts' {
  interface TopicMap {
    /**
     * Core's topic: credentials that stopped being valid (API key revoked, service token rotated away), by
     * `principalId` (`apikey:<id>`, `servicetoken:<id>`). A module publishes it once, after the commit that
     * revokes; every open subscription of those credentials ends (docs/decisions.md).
     */
    'credential.revoked': [payload: { principalIds: string[] }];
  }
}

export type CredentialEnd = 'revoked' | 'expired';

/** Publishes that credentials were revoked (call after the revoking transaction committed). */
export function publishCredentialRevoked(pubsub: AppPubSub, principalIds: string[]): void {
  if (principalIds.length > 0) pubsub.publish('credential.revoked', { principalIds });
}

/** Longest timer Node keeps exact (setTimeout's 32-bit limit). */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Ends what a credential opened (subscriptions, WebSocket connections) when the credential ends: revocation
 * through `credential.revoked` (over Redis, so on every replica) and expiry of a JWT (`exp`) by a timer. One
 * pub/sub subscription per process, started with the first watch. Expiry (a JWT's `exp`, an API key's `expiresAt`)
 * ends them by a timer.
 */
export function createCredentialWatch(pubsub: AppPubSub) {
  const watchers = new Map<string, Set<(end: CredentialEnd) => void>>();
  let listening: AsyncIterator<{ principalIds: string[] }> | undefined;

  const listen = () => {
    if (listening) return;
    const iterator = pubsub.subscribe('credential.revoked')[Symbol.asyncIterator]();
    listening = iterator;
    const loop = async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        for (const id of next.value.principalIds) {
          for (const end of [...(watchers.get(id) ?? [])]) end('revoked');
        }
      }
    };
    loop().catch(() => {
      if (listening === iterator) listening = undefined;
    });
  };

  /**
   * Calls `onEnd` once when `principal`'s credential is revoked or expires; returns the disposer. Anonymous and
   * admin principals never end this way (the admin key is configuration).
   */
  function watch(principal: Principal, onEnd: (end: CredentialEnd) => void): () => void {
    if (principal.kind === 'anonymous' || principal.kind === 'admin') return () => {};
    let done = false;
    const id = principalId(principal);
    let timer: NodeJS.Timeout | undefined;
    const dispose = () => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      const set = watchers.get(id);
      set?.delete(fire);
      if (set?.size === 0) watchers.delete(id);
    };
    const fire = (end: CredentialEnd) => {
      if (done) return;
      dispose();
      onEnd(end);
    };
    let set = watchers.get(id);
    if (!set) {
      set = new Set();
      watchers.set(id, set);
    }
    set.add(fire);
    listen();
    // Expiry: a JWT's `exp` (seconds), an API key's `expiresAt`.
    const expMs =
      principal.kind === 'jwt'
        ? Number(principal.claims.exp) * 1000
        : (principal.kind === 'apiKey' || principal.kind === 'userSession') && principal.expiresAt
          ? principal.expiresAt.getTime()
          : Number.NaN;
    if (Number.isFinite(expMs)) {
      const arm = () => {
        const left = expMs - Date.now();
        if (left <= 0) return fire('expired');
        timer = setTimeout(arm, Math.min(left, maxTimerMs));
        timer.unref();
      };
      arm();
    }
    return dispose;
  }

  return {
    watch,
    /** Stops listening (server shutdown). */
    close: async () => {
      const iterator = listening;
      listening = undefined;
      watchers.clear();
      await iterator?.return?.();
    },
  };
}

export type CredentialWatch = ReturnType<typeof createCredentialWatch>;
