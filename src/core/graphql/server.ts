import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { type ExecutionResult, type GraphQLError, type GraphQLSchema, getOperationAST, Kind } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import {
  createGraphQLError,
  createYoga,
  isAsyncIterable,
  maskError,
  type Plugin,
  type YogaInitialContext,
} from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { bearerToken } from '../auth/authenticator.ts';
import { createCredentialWatch } from '../auth/credential-watch.ts';
import { anonymous, type Principal } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { AuthorizationError, ErrorCodes } from '../errors.ts';
import type { Services } from '../services.ts';
import { credentialEndCloseCode, credentialEndMessage, credentialEndPlugin } from './credential-end.ts';
import { graphiqlPage } from './graphiql.ts';
import { nulInputPlugin } from './input-plugin.ts';
import { platformKeyPlugin } from './platform-key-plugin.ts';
import { protectionPlugins, trustedDocumentsFor, trustedQuery } from './protection.ts';

/** What the HTTP layer passes into yoga for every request; REST executions add a resolved principal. */
export interface ServerContext {
  requestId: string;
  principal?: Principal;
}

type InitialContext = YogaInitialContext & ServerContext & { connectionParams?: Record<string, unknown> };

export const graphqlPath = '/graphql';

/**
 * GraphQL over HTTP (POST/GET, SSE, GraphiQL) with graphql-yoga, and graphql-ws on the same path.
 * Both run through yoga's envelop, so they share context building, auth, masking and metrics.
 */
export function createGraphQLServer(schema: GraphQLSchema, services: Services) {
  const { authenticator, logger, metrics } = services;
  const trusted = trustedDocumentsFor(services.config.graphql);
  const credentials = createCredentialWatch(services.pubsub);
  const graphiqlOptions = {
    title: 'Atrium GraphiQL',
    subscriptionsProtocol: 'WS',
    defaultQuery: '{ viewer { kind id } }',
  } as const;
  // Served by the HTTP layer before yoga: rendered and compressed once, cacheable (graphiql.ts).
  const graphiql = services.config.graphiql ? graphiqlPage(graphiqlOptions) : undefined;

  async function principalFor(
    credential: string | undefined,
    remoteAddress: string | undefined,
    forwardedFor?: string | string[],
  ): Promise<Principal> {
    if (credential === undefined) return anonymous;
    const xff = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    const check = await authenticator.authenticate(credential, { remoteAddress, forwardedFor: xff });
    if (!check.ok && check.reason === 'refused') {
      // A key control (IP, inactivity, rate, quota): the same refusal as at the REST doors, with its own code.
      const { refusal } = check;
      const retry = refusal.retryAfter !== undefined ? { 'retry-after': String(refusal.retryAfter) } : undefined;
      throw createGraphQLError(refusal.message, {
        extensions: {
          code: refusal.graphqlCode ?? ErrorCodes.forbidden,
          ...(refusal.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
          http: { status: refusal.status, ...(retry ? { headers: retry } : {}) },
        },
      });
    }
    if (!check.ok) {
      throw createGraphQLError(`Invalid credentials (${check.reason})`, {
        extensions: { code: ErrorCodes.unauthenticated, http: { status: 401 } },
      });
    }
    return check.principal;
  }

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: graphqlPath,
    landingPage: false,
    graphiql: services.config.graphiql ? graphiqlOptions : false,
    renderGraphiQL,
    maskedErrors: {
      // A service's AuthorizationError is an answer, not a bug: UNAUTHENTICATED/FORBIDDEN with its message.
      maskError(error, message, isDev) {
        const original = (error as { originalError?: unknown }).originalError;
        if (original instanceof AuthorizationError) {
          return createGraphQLError(original.message, {
            extensions: { code: original.code },
            path: (error as { path?: readonly (string | number)[] }).path,
          });
        }
        return maskError(error, message, isDev);
      },
    },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error({ err: args.find((a) => a instanceof Error) }, args.map(String).join(' ')),
    },
    context: async (initial: InitialContext): Promise<Context> => {
      if (initial.principal) return { principal: initial.principal, services, requestId: initial.requestId };
      const credential = initial.connectionParams
        ? connectionCredential(initial.connectionParams)
        : bearerToken(initial.request.headers.get('authorization'));
      const req = (initial as { req?: IncomingMessage }).req;
      const principal = await principalFor(credential, req?.socket?.remoteAddress, req?.headers['x-forwarded-for']);
      return { principal, services, requestId: initial.requestId };
    },
    plugins: [
      ...protectionPlugins(services.config.graphql, trusted),
      nulInputPlugin(),
      platformKeyPlugin(),
      credentialEndPlugin(credentials),
      metricsPlugin(metrics),
    ],
  });

  /** Executes a pre-parsed, pre-validated document as `principal` (the REST shim's path into the schema). */
  async function execute<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    principal: Principal,
    requestId: string,
  ): Promise<ExecutionResult<R>> {
    const enveloped = yoga.getEnveloped({ principal, requestId } as Partial<InitialContext>);
    const contextValue = await enveloped.contextFactory();
    const result = await enveloped.execute({
      schema: enveloped.schema,
      document,
      variableValues: variables as Record<string, unknown>,
      contextValue,
    });
    return result as ExecutionResult<R>;
  }

  /** graphql-ws over the HTTP server's upgrade requests for /graphql (the app routes upgrades here). */
  function webSockets(newRequestId: () => string) {
    const wss = new WebSocketServer({ noServer: true, maxPayload: services.config.maxBodyBytes });
    const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    };

    const disposable = useServer<Record<string, unknown>, { principal: Principal; requestId: string }>(
      {
        execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
        subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
        onConnect: async (ctx) => {
          // Authenticate once per connection; a bad credential closes it (4403) instead of degrading to anonymous.
          try {
            const principal = await principalFor(
              connectionCredential(ctx.connectionParams ?? {}),
              ctx.extra.request.socket.remoteAddress,
              ctx.extra.request.headers['x-forwarded-for'],
            );
            // The connection lives as long as its credential: revoked 4403, expired 4401 (credential-end.ts).
            const endWatch = credentials.watch(principal, (end) =>
              ctx.extra.socket.close(credentialEndCloseCode[end], credentialEndMessage[end]),
            );
            Object.assign(ctx.extra, { principal, requestId: newRequestId(), endWatch });
            return true;
          } catch {
            return false;
          }
        },
        onClose: (ctx) => (ctx.extra as { endWatch?: () => void }).endWatch?.(),
        onSubscribe: async (ctx, _id, payload) => {
          // GraphiQL sends its Headers tab with every operation (`extensions.headers`); an Authorization there
          // runs that operation as its credential (a wrong one is refused), else the connection's principal.
          let principal = ctx.extra.principal;
          const perOperation = operationCredential(payload.extensions);
          if (perOperation !== undefined) {
            try {
              principal = await principalFor(
                perOperation,
                ctx.extra.request.socket.remoteAddress,
                ctx.extra.request.headers['x-forwarded-for'],
              );
            } catch (e) {
              return [e as GraphQLError];
            }
          }
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            ...ctx,
            req: ctx.extra.request,
            socket: ctx.extra.socket,
            params: payload,
            principal,
            requestId: ctx.extra.requestId,
          } as unknown as Partial<InitialContext>);
          // The HTTP path resolves trusted documents in yoga's plugin; graphql-ws resolves them here.
          const query = trustedQuery(trusted, payload);
          if (typeof query !== 'string') return [query];
          let document: ReturnType<typeof parse>;
          try {
            document = parse(query);
          } catch (e) {
            // Every graphql-ws `error` message carries a code, like yoga's HTTP answers.
            return [
              createGraphQLError(e instanceof Error ? e.message : 'Syntax error', {
                extensions: { code: 'GRAPHQL_PARSE_FAILED' },
              }),
            ];
          }
          const errors = validate(schema, document);
          if (errors.length > 0) {
            return errors.map((e: GraphQLError) =>
              e.extensions?.code
                ? e
                : createGraphQLError(e.message, {
                    nodes: e.nodes,
                    source: e.source,
                    positions: e.positions,
                    extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
                  }),
            );
          }
          return {
            schema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe } as EnvelopedRoot,
          };
        },
      },
      wss,
    );

    return {
      handleUpgrade,
      /** Closes every socket (1001 going away). */
      close: async () => {
        for (const client of wss.clients) client.close(1001, 'Server shutting down');
        await disposable.dispose();
        await credentials.close();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      },
      clientCount: () => wss.clients.size,
    };
  }

  return { yoga, execute, webSockets, graphiql };
}

type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>;
interface EnvelopedRoot {
  execute: (args: unknown) => OperationResult;
  subscribe: (args: unknown) => OperationResult;
}

/** graphql-ws clients send credentials in connection params: `{ authorization: "Bearer …" }` or `{ token }`. */
function connectionCredential(params: Record<string, unknown>): string | undefined {
  const auth = params.authorization ?? params.Authorization;
  if (typeof auth === 'string') return bearerToken(auth) ?? '';
  if (typeof params.token === 'string') return params.token;
  return undefined;
}

/** The Authorization of an operation's `extensions.headers` (GraphiQL's Headers tab), if any. */
function operationCredential(extensions: unknown): string | undefined {
  const headers = (extensions as { headers?: unknown } | undefined)?.headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  const auth = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  return typeof auth === 'string' ? (bearerToken(auth) ?? '') : undefined;
}

function metricsPlugin(metrics: Services['metrics']): Plugin {
  return {
    onExecute({ args }) {
      const start = performance.now();
      const op = getOperationAST(args.document, args.operationName);
      return {
        onExecuteDone({ result }) {
          const hadErrors = !isAsyncIterable(result) && (result.errors?.length ?? 0) > 0;
          metrics.observeGraphQL(
            rootFieldLabel(op),
            op?.operation ?? 'query',
            hadErrors,
            (performance.now() - start) / 1000,
          );
        },
      };
    },
    onSubscribe({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      metrics.observeGraphQL(rootFieldLabel(op), 'subscription', false, 0);
    },
  };
}

/**
 * The metrics label of an operation: its first root field (the schema bounds these; the operation runs after
 * validation), `+` when it selects more. Client-chosen operation names never become labels.
 */
function rootFieldLabel(op: ReturnType<typeof getOperationAST>): string | undefined {
  const selections = op?.selectionSet.selections ?? [];
  const first = selections[0];
  if (first?.kind !== Kind.FIELD) return selections.length === 0 ? undefined : 'other';
  return selections.length > 1 ? `${first.name.value}_more` : first.name.value;
}
