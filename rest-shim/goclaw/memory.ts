import { offsetToCursor } from '@pothos/plugin-relay';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy } from '../engine/types.ts';
import { GoClawListMemoryDocumentsDocument, GoClawMemorySearchDocument } from '../generated/graphql.ts';
import { answer } from './answer.ts';
import { bad, bodyOf, epochMs, headerUser, num, one, queryInt, str } from './memory-params.ts';

/** GET /v1/memory/documents — a bare array `[{id, path, hash, agent_id, user_id, updated_at (epoch ms)}]`. */
const listDocuments = graphqlOperation({
  document: GoClawListMemoryDocumentsDocument,
  extraQuery: ['agent_id', 'user_id', 'limit', 'offset'],
  variables: (req) => {
    const limit = queryInt(req, 'limit', 100, 1, 1000);
    const offset = queryInt(req, 'offset', 0, 0, 1_000_000);
    return {
      first: limit,
      after: offset > 0 ? offsetToCursor(offset - 1) : null,
      agentId: one(req, 'agent_id') || null,
      userId: one(req, 'user_id') ?? null,
    };
  },
  respond: ({ goclawMemoryDocuments: r }) =>
    answer(r, (ok) => ({
      status: 200,
      body: ok.data.edges.map(({ node: d }) => ({
        id: d.uuid,
        path: d.path,
        hash: d.hash,
        agent_id: d.agentId,
        user_id: d.userId,
        updated_at: epochMs(d.updatedAt),
      })),
    })),
});

/**
 * POST /v1/agents/{agentID}/memory/search `{query, limit = 10 | max_results, min_score?, user_id?}` —
 * `{results: [{path, start_line, end_line, score, snippet, source, sources, scope, …}], count, mode, …}`; the user
 * is `user_id` or X-GoClaw-User-Id; an empty query is 400.
 */
const searchMemory = graphqlOperation({
  document: GoClawMemorySearchDocument,
  variables: (req) => {
    const body = bodyOf(req);
    const query = str(body, 'query');
    if (query === null || query.trim() === '') throw bad('body.query: is required');
    return {
      agentId: req.params.agentID ?? '',
      input: {
        query,
        limit: num(body, 'limit', true) ?? num(body, 'max_results', true),
        minScore: num(body, 'min_score', false),
        userId: str(body, 'user_id') ?? headerUser(req),
      },
    };
  },
  respond: ({ goclawMemorySearch: r }) =>
    answer(r, ({ data }) => ({
      status: 200,
      body: {
        results: data.results.map((h) => ({
          path: h.path,
          start_line: h.startLine,
          end_line: h.endLine,
          score: h.score,
          snippet: h.snippet,
          source: h.sources.join('+'),
          sources: h.sources,
          vector_score: h.vectorScore,
          fts_score: h.ftsScore,
          scope: h.scope,
          document_id: h.documentId,
        })),
        count: data.results.length,
        mode: data.mode,
        vector_backend: data.vectorBackend,
        embedding_model: data.embeddingModel,
        ...(data.note ? { note: data.note } : {}),
      },
    })),
});

/** Memory: the document list and hybrid search. */
export const goclawMemoryOperations = operationsFor<OperationPolicy>().group('memory', 'test/goclaw/memory.test.ts', {
  get_v1_memory_documents: listDocuments,
  post_v1_agents_by_agentid_memory_search: searchMemory,
});
