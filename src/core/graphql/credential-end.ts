import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { CredentialEnd, CredentialWatch } from '../auth/credential-watch.ts';
import type { Principal } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { ErrorCodes } from '../errors.ts';

export const credentialEndMessage: Record<CredentialEnd, string> = {
  revoked: 'The credential of this subscription was revoked',
  expired: 'The credential of this subscription expired',
};

/** graphql-ws close codes for a connection whose credential ended. */
export const credentialEndCloseCode: Record<CredentialEnd, number> = { revoked: 4403, expired: 4401 };

/**
 * Ends every subscription with its credential, on every transport: the event stream of a subscription yields one
 * UNAUTHENTICATED error and completes when the principal's credential is revoked or expires (SSE: a `next` with
 * the error, then `complete`). graphql-ws connections are additionally closed with 4403/4401 (server.ts).
 */
export function credentialEndPlugin(watch: CredentialWatch): Plugin {
  return {
    // yoga runs HTTP (SSE) subscriptions through `execute` (a normalized executor); graphql-ws through `subscribe`.
    onExecute({ args }) {
      const principal = (args.contextValue as Partial<Context>).principal;
      return {
        onExecuteDone({ result, setResult }) {
          if (!principal || !isAsyncIterable(result)) return;
          setResult(endWithCredential(result as AsyncIterable<unknown>, principal, watch) as never);
        },
      };
    },
    onSubscribe({ args }) {
      const principal = (args.contextValue as Partial<Context>).principal;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!principal || !isAsyncIterable(result)) return;
          setResult(endWithCredential(result as AsyncIterable<unknown>, principal, watch) as never);
        },
      };
    },
  };
}

function endWithCredential<T>(
  source: AsyncIterable<T>,
  principal: Principal,
  watch: CredentialWatch,
): AsyncIterableIterator<T | { errors: GraphQLError[] }> {
  const iterator = source[Symbol.asyncIterator]();
  let ended: CredentialEnd | undefined;
  let wake: ((end: CredentialEnd) => void) | undefined;
  const endPromise = new Promise<CredentialEnd>((resolve) => {
    wake = resolve;
  });
  const dispose = watch.watch(principal, (end) => {
    ended = end;
    wake?.(end);
  });
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    dispose();
    // Not awaited: an async generator queues return() behind its pending next(), which may wait for an event
    // that never comes; the stream must end now, the source is released when its pending step settles.
    void Promise.resolve(iterator.return?.()).catch(() => {});
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<T | { errors: GraphQLError[] }>> {
      if (finished) return { done: true, value: undefined };
      const end = ended ?? (await Promise.race([iterator.next(), endPromise]));
      if (typeof end === 'string') {
        await finish();
        const error = new GraphQLError(credentialEndMessage[end], {
          extensions: { code: ErrorCodes.unauthenticated },
        });
        return { done: false, value: { errors: [error] } };
      }
      if (end.done) await finish();
      return end;
    },
    async return() {
      await finish();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await finish();
      throw error;
    },
  };
}
