import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { builder } from '../../../core/builder.ts';
import type { MemoryDocumentRow, MemoryHit, MemorySearchResult } from '../memory/memory.service.ts';
import { errorsOf, InvalidInput, NotFound, withTotalCount } from './types.ts';

const isDocument = (v: unknown): v is MemoryDocumentRow =>
  typeof v === 'object' && v !== null && 'hash' in v && 'path' in v && 'content' in v;

export const MemoryDocumentRef = builder.node(builder.objectRef<MemoryDocumentRow>('GoClawMemoryDocument'), {
  id: { resolve: (d) => d.id },
  description: 'A memory document of an agent (global, or one external user’s), indexed in line-ranged chunks.',
  authScopes: { product: 'goclaw' },
  isTypeOf: isDocument,
  loadOne: (id, ctx) =>
    ctx.services.goclaw.memory.document(ctx.principal, id).then(
      (d) => d ?? null,
      () => null,
    ),
  fields: (t) => ({
    uuid: t.exposeString('id', { description: 'The document’s uuid.' }),
    agentId: t.exposeString('agentId', { description: 'The agent’s uuid.' }),
    userId: t.exposeString('userId', { description: 'The external user it belongs to; empty for the agent’s own.' }),
    path: t.exposeString('path', { description: 'Its path, unique per agent and user.' }),
    content: t.exposeString('content', { description: 'The text.' }),
    hash: t.exposeString('hash', { description: 'sha256 of the content, hex.' }),
    chunkCount: t.int({
      description: 'Line-ranged chunks it is indexed in.',
      resolve: (d, _a, ctx) => ctx.services.goclaw.memory.chunkCount(d.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first written.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const ModeEnum = builder.enumType('GoClawMemorySearchMode', {
  description: 'How a memory search ranked.',
  values: {
    hybrid: { description: 'Vector cosine and full text, merged by weight (0.7 vector, 0.3 full text).' },
    fts: { description: 'Full text only: the agent has no embedding provider.' },
  } as const,
});

const BackendEnum = builder.enumType('GoClawVectorBackend', {
  description: 'What computed vector similarities.',
  values: {
    pgvector: { description: 'pgvector’s cosine distance operator in the database.' },
    exact: { description: 'Exact cosine over the agent’s chunks in SQL (the database has no pgvector).' },
  } as const,
});

const SourceEnum = builder.enumType('GoClawMemoryHitSource', {
  description: 'Which ranking found a hit.',
  values: {
    vector: { description: 'Among the nearest chunks by embedding cosine.' },
    fts: { description: 'Matched the full-text query (’simple’ configuration).' },
  } as const,
});

const ScopeEnum = builder.enumType('GoClawMemoryScope', {
  description: 'Whose memory a hit is from.',
  values: {
    global: { description: 'The agent’s own memory.' },
    personal: { description: 'The searching user’s personal documents.' },
  } as const,
});

const HitRef = builder.objectRef<MemoryHit>('GoClawMemoryHit').implement({
  description: 'One chunk that a memory search returned.',
  fields: (t) => ({
    documentId: t.exposeString('documentId', { description: 'The document’s uuid.' }),
    path: t.exposeString('path', { description: 'The document’s path.' }),
    startLine: t.exposeInt('startLine', { description: 'First line of the chunk (1-based).' }),
    endLine: t.exposeInt('endLine', { description: 'Last line of the chunk (inclusive).' }),
    score: t.exposeFloat('score', { description: 'The merged score, 0–1.' }),
    vectorScore: t.exposeFloat('vectorScore', { nullable: true, description: 'Cosine similarity, when a vector hit.' }),
    ftsScore: t.exposeFloat('ftsScore', {
      nullable: true,
      description: 'Full-text rank scaled by the best of the search (0–1), when a full-text hit.',
    }),
    snippet: t.exposeString('snippet', { description: 'The chunk’s text (at most 700 characters).' }),
    sources: t.field({
      type: [SourceEnum],
      description: 'The rankings that found it.',
      resolve: (h) => h.sources,
    }),
    scope: t.field({ type: ScopeEnum, description: 'Whose memory it is from.', resolve: (h) => h.scope }),
  }),
});

const SearchResultRef = builder.objectRef<MemorySearchResult>('GoClawMemorySearchResult').implement({
  description: 'The hits of a memory search and how they were ranked.',
  fields: (t) => ({
    results: t.field({ type: [HitRef], description: 'Best first.', resolve: (r) => r.results }),
    mode: t.field({ type: ModeEnum, description: 'Hybrid or full text only.', resolve: (r) => r.mode }),
    vectorBackend: t.field({
      type: BackendEnum,
      nullable: true,
      description: 'What ranked the vectors (null in full-text mode).',
      resolve: (r) => r.vectorBackend,
    }),
    embeddingModel: t.exposeString('embeddingModel', {
      nullable: true,
      description: '`<provider>/<model>` that embedded the query (null in full-text mode).',
    }),
    note: t.exposeString('note', {
      nullable: true,
      description: 'Why the search is full-text only, or that exact vector ranking scanned only the newest chunks.',
    }),
  }),
});

builder.queryField('goclawMemoryDocuments', (t) =>
  t.connection(
    {
      type: MemoryDocumentRef,
      description: 'Memory documents, newest change first; filters agent and user. Offset cursors. Viewer role.',
      authScopes: { product: 'goclaw' },
      errors: errorsOf(NotFound, InvalidInput),
      args: {
        agentId: t.arg.string({ required: false, description: 'Only this agent’s (uuid or slug).' }),
        userId: t.arg.string({
          required: false,
          description: 'Only this external user’s documents (empty: agents’ own).',
        }),
      },
      resolve: async (_r, args, ctx) => {
        let totalCount = 0;
        const conn = await resolveOffsetConnection(
          { args, defaultSize: 100, maxSize: 1000 },
          async ({ limit, offset }) => {
            const page = await ctx.services.goclaw.memory.listDocuments(ctx.principal, {
              agentId: args.agentId,
              userId: args.userId,
              limit,
              offset,
            });
            totalCount = page.total;
            return page.items;
          },
        );
        return Object.assign(conn, { totalCount });
      },
    },
    withTotalCount,
  ),
);

const SearchInput = builder.inputType('GoClawMemorySearchInput', {
  description: 'A memory search.',
  fields: (t) => ({
    query: t.string({ required: true, description: 'What to look for (non-empty).' }),
    limit: t.int({ required: false, description: 'Most hits, 1–100 (default 10).' }),
    minScore: t.float({ required: false, description: 'Drop hits scoring under this, 0–1 (default 0).' }),
    userId: t.string({ required: false, description: 'Also search this external user’s personal documents.' }),
  }),
});

builder.queryField('goclawMemorySearch', (t) =>
  t.field({
    type: SearchResultRef,
    description:
      'Searches an agent’s memory: hybrid (vector and full text) when it has an embedding provider, else full text only (said in `mode` and `note`). Viewer role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      input: t.arg({ type: SearchInput, required: true, description: 'The search.' }),
    },
    resolve: (_r, { agentId, input }, ctx) => ctx.services.goclaw.memory.search(ctx.principal, agentId, input),
  }),
);

const UpsertResultRef = builder
  .objectRef<{ document: MemoryDocumentRow; chunks: number; indexed: boolean }>('GoClawMemoryUpsertResult')
  .implement({
    description: 'A written memory document.',
    fields: (t) => ({
      document: t.field({ type: MemoryDocumentRef, description: 'The document.', resolve: (r) => r.document }),
      chunks: t.exposeInt('chunks', { description: 'Chunks it is indexed in.' }),
      indexed: t.exposeBoolean('indexed', {
        description: 'Whether it was (re-)indexed now; false when the content and embedding model were unchanged.',
      }),
    }),
  });

const DocumentInput = builder.inputType('GoClawMemoryDocumentInput', {
  description: 'A memory document to write.',
  fields: (t) => ({
    path: t.string({ required: true, description: 'Its path (at most 512 characters), unique per agent and user.' }),
    content: t.string({ required: true, description: 'The text (at most 1,000,000 characters).' }),
    userId: t.string({ required: false, description: 'The external user it belongs to; absent: the agent’s own.' }),
  }),
});

builder.mutationField('upsertGoClawMemoryDocument', (t) =>
  t.field({
    type: UpsertResultRef,
    description:
      'Writes a memory document and indexes it: line-ranged chunks, full text, and embeddings when the agent has an embedding provider. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      input: t.arg({ type: DocumentInput, required: true, description: 'The document.' }),
    },
    resolve: (_r, { agentId, input }, ctx) => ctx.services.goclaw.memory.upsertDocument(ctx.principal, agentId, input),
  }),
);

builder.mutationField('deleteGoClawMemoryDocument', (t) =>
  t.field({
    type: MemoryDocumentRef,
    description: 'Deletes a memory document and its chunks. Operator role.',
    authScopes: { product: 'goclaw' },
    errors: errorsOf(NotFound, InvalidInput),
    args: {
      agentId: t.arg.string({ required: true, description: 'The agent’s uuid or slug.' }),
      path: t.arg.string({ required: true, description: 'The document’s path.' }),
      userId: t.arg.string({
        required: false,
        description: 'The external user whose document it is (absent: the agent’s).',
      }),
    },
    resolve: (_r, { agentId, path, userId }, ctx) =>
      ctx.services.goclaw.memory.deleteDocument(ctx.principal, agentId, { path, userId }),
  }),
);
