import { createHash, randomUUID } from 'node:crypto';
import type { GoclawMemoryDocument } from '../../../../prisma/generated/client/client.ts';
import type { Principal } from '../../../core/auth/principal.ts';
import { Prisma, type PrismaClient } from '../../../core/db.ts';
import type { Logger } from '../../../core/logger.ts';
import type { AgentRow, AgentService } from '../agents.service.ts';
import { externalUser } from '../agents.service.ts';
import type { GoClawConfig } from '../goclaw.config.ts';
import { GoClawInvalidInputError, GoClawNotFoundError } from '../goclaw.errors.ts';
import type { LlmAdapter } from '../llm/index.ts';
import { LlmProviderError } from '../llm/types.ts';
import type { ProviderService } from '../providers.service.ts';
import { isUuid } from '../providers.service.ts';
import { requireRole } from '../roles.ts';
import { type Candidate, chunkByLines, ftsQuery, type HitSource, mergeCandidates } from './chunks.ts';

export type MemoryDocumentRow = GoclawMemoryDocument;

export interface MemoryDocumentInput {
  path: string;
  content: string;
  /** The external user whose personal document this is; absent = the agent's global memory. */
  userId?: string | null;
}

export interface MemorySearchInput {
  query: string;
  /** 1–100, default 10 (upstream's `max_results` is the same). */
  limit?: number | null;
  /** 0–1: hits scoring lower are dropped. */
  minScore?: number | null;
  /** Also search this external user's personal documents. */
  userId?: string | null;
}

export type MemorySearchMode = 'hybrid' | 'fts';
export type VectorBackend = 'pgvector' | 'exact';

export interface MemoryHit {
  documentId: string;
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  vectorScore: number | null;
  ftsScore: number | null;
  snippet: string;
  sources: HitSource[];
  /** `global` (the agent's memory) or `personal` (the user's). */
  scope: 'global' | 'personal';
}

export interface MemorySearchResult {
  results: MemoryHit[];
  mode: MemorySearchMode;
  /** How vectors were ranked (null in full-text mode). */
  vectorBackend: VectorBackend | null;
  /** `<provider>/<model>` that embedded the query (null in full-text mode). */
  embeddingModel: string | null;
  /** Why the search is full-text only, or that exact vector ranking scanned only part of the chunks. */
  note: string | null;
}

export interface MemoryConfig {
  embedding_provider?: string;
  embedding_model?: string;
}

interface Embedder {
  adapter: LlmAdapter;
  model: string;
  /** `<provider>/<model>`, stored with each chunk: only vectors of the same model are compared. */
  key: string;
}

const maxContent = 1_000_000;
const maxPath = 512;
const embedBatch = 64;
const snippetChars = 700;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const norm = (v: number[]) => Math.hypot(...v);
const pgArray = (v: number[]) => `{${v.join(',')}}`;

/**
 * GoClaw memory: documents per agent (global, or one external user's), chunked by lines, each chunk with a
 * 'simple' tsvector and — when the agent has an embedding provider — an embedding. Search is hybrid (vector cosine
 * and full text, merged by weight) or, with no embedding provider, full text only, and says which.
 */
export class MemoryService {
  private backend?: Promise<VectorBackend>;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      logger: Logger;
      agents: AgentService;
      providers: ProviderService;
      config: Pick<GoClawConfig, 'embeddingProvider' | 'embeddingModel' | 'pgvector' | 'memoryExactMaxChunks'>;
    },
  ) {}

  /** The agent by uuid or slug (404 when it does not exist). */
  async agent(ref: string): Promise<AgentRow> {
    const agent = ref ? await this.deps.agents.find(ref) : undefined;
    if (!agent) throw new GoClawNotFoundError(`agent ${ref} not found`);
    return agent;
  }

  /**
   * Who embeds the agent's memory: its `memory_config` (`embedding_provider`, `embedding_model`), else the global
   * configuration; undefined when neither names one (full text only). A named provider that is missing or
   * disabled is an error, not a silent fallback.
   */
  async embedderOf(agent: AgentRow): Promise<Embedder | undefined> {
    const config = (agent.memoryConfig ?? {}) as MemoryConfig;
    const name = config.embedding_provider || this.deps.config.embeddingProvider;
    const model = config.embedding_provider ? (config.embedding_model ?? '') : this.deps.config.embeddingModel;
    if (!name) return undefined;
    if (!model) throw new GoClawInvalidInputError(`agent "${agent.agentKey}": memory_config names no embedding_model`);
    const provider = await this.deps.providers.byName(name);
    if (!provider) throw new GoClawInvalidInputError(`embedding provider "${name}" does not exist`);
    if (!provider.enabled) throw new GoClawInvalidInputError(`embedding provider "${name}" is disabled`);
    return { adapter: this.deps.providers.adapter(provider), model, key: `${name}/${model}` };
  }

  private async embed(embedder: Embedder, texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    try {
      for (let at = 0; at < texts.length; at += embedBatch) {
        out.push(...(await embedder.adapter.embed(embedder.model, texts.slice(at, at + embedBatch), {})));
      }
    } catch (err) {
      if (err instanceof LlmProviderError) throw new GoClawInvalidInputError(`embedding failed: ${err.message}`);
      throw err;
    }
    const dims = out[0]?.length ?? 0;
    if (out.some((v) => v.length !== dims)) throw new GoClawInvalidInputError('embedding failed: mixed dimensions');
    return out;
  }

  /** pgvector when the database has the extension (created here when it is available), else exact cosine in SQL. */
  vectorBackend(): Promise<VectorBackend> {
    this.backend ??= (async (): Promise<VectorBackend> => {
      if (this.deps.config.pgvector === 'off') return 'exact';
      try {
        const rows = await this.deps.prisma.$queryRaw<{ installed: string | null }[]>`
          SELECT installed_version AS installed FROM pg_available_extensions WHERE name = 'vector'`;
        if (rows.length === 0) return 'exact';
        if (rows[0]?.installed === null)
          await this.deps.prisma.$executeRawUnsafe('CREATE EXTENSION IF NOT EXISTS vector');
        return 'pgvector';
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'pgvector unavailable: exact cosine ranking');
        return 'exact';
      }
    })();
    return this.backend;
  }

  private static checkPath(path: unknown): string {
    if (typeof path !== 'string' || path.trim() === '' || path.length > maxPath || path.includes('\0')) {
      throw new GoClawInvalidInputError(`path must be a non-empty string of at most ${maxPath} characters`);
    }
    return path;
  }

  private static scopeOf(userId: string | null | undefined): string {
    if (userId === undefined || userId === null || userId === '') return '';
    const user = externalUser(userId);
    if (user === undefined) throw new GoClawInvalidInputError('user_id is longer than 255 characters');
    return user;
  }

  /**
   * Creates or replaces the document at `path` (per agent and user) and re-indexes it: chunks by lines, embeds
   * them when the agent has an embedding provider. An unchanged document with the same embedding model is left
   * as it is. Operator role.
   */
  async upsertDocument(
    principal: Principal,
    agentRef: string,
    input: MemoryDocumentInput,
  ): Promise<{ document: MemoryDocumentRow; chunks: number; indexed: boolean }> {
    requireRole(principal, 'operator');
    const agent = await this.agent(agentRef);
    const path = MemoryService.checkPath(input.path);
    if (typeof input.content !== 'string' || input.content.length > maxContent) {
      throw new GoClawInvalidInputError(`content must be a string of at most ${maxContent} characters`);
    }
    if (input.content.includes('\0')) throw new GoClawInvalidInputError('content must not contain U+0000');
    const userId = MemoryService.scopeOf(input.userId);
    const hash = sha256(input.content);
    const embedder = await this.embedderOf(agent);
    const where = { agentId_userId_path: { agentId: agent.id, userId, path } };
    const existing = await this.deps.prisma.goclawMemoryDocument.findUnique({
      where,
      include: { chunks: { select: { embeddingModel: true }, take: 1 } },
    });
    const chunkCount = existing
      ? await this.deps.prisma.goclawMemoryChunk.count({ where: { documentId: existing.id } })
      : 0;
    if (
      existing &&
      existing.hash === hash &&
      (chunkCount === 0 || existing.chunks[0]?.embeddingModel === (embedder?.key ?? ''))
    ) {
      const { chunks: _c, ...document } = existing;
      return { document, chunks: chunkCount, indexed: false };
    }
    const chunks = chunkByLines(input.content);
    const vectors =
      embedder && chunks.length > 0
        ? await this.embed(
            embedder,
            chunks.map((c) => c.text),
          )
        : undefined;
    const document = await this.deps.prisma.$transaction(async (tx) => {
      const doc = await tx.goclawMemoryDocument.upsert({
        where,
        create: { id: randomUUID(), agentId: agent.id, userId, path, content: input.content, hash },
        update: { content: input.content, hash },
      });
      await tx.goclawMemoryChunk.deleteMany({ where: { documentId: doc.id } });
      if (chunks.length > 0) {
        const rows = chunks.map((c, i) => {
          const v = vectors?.[i];
          return {
            id: randomUUID(),
            start_line: c.startLine,
            end_line: c.endLine,
            text: c.text,
            embedding: v ? pgArray(v) : null,
            norm: v ? norm(v) : 0,
            dims: v ? v.length : 0,
          };
        });
        await tx.$executeRaw`
          INSERT INTO goclaw_memory_chunks
            (id, document_id, agent_id, user_id, start_line, end_line, text, tsv, embedding_model, embedding,
             embedding_norm, dims)
          SELECT r.id, ${doc.id}::uuid, ${agent.id}::uuid, ${userId}, r.start_line, r.end_line, r.text,
                 to_tsvector('simple', r.text), ${vectors ? (embedder?.key ?? '') : ''}, r.embedding, r.norm, r.dims
          FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
            AS r(id uuid, start_line int, end_line int, text text, embedding real[], norm real, dims int)`;
      }
      return doc;
    });
    return { document, chunks: chunks.length, indexed: true };
  }

  /** Deletes the document at `path` (per agent and user). Operator role. */
  async deleteDocument(
    principal: Principal,
    agentRef: string,
    input: { path: string; userId?: string | null },
  ): Promise<MemoryDocumentRow> {
    requireRole(principal, 'operator');
    const agent = await this.agent(agentRef);
    const path = MemoryService.checkPath(input.path);
    const userId = MemoryService.scopeOf(input.userId);
    const row = await this.deps.prisma.goclawMemoryDocument.findUnique({
      where: { agentId_userId_path: { agentId: agent.id, userId, path } },
    });
    if (!row) throw new GoClawNotFoundError(`memory document ${path} not found`);
    await this.deps.prisma.goclawMemoryDocument.deleteMany({ where: { id: row.id } });
    return row;
  }

  /** The document at `path`: the user's personal one when there is one, else the agent's (404 when neither). */
  async getDocument(
    principal: Principal,
    agentRef: string,
    path: string,
    userId?: string | null,
  ): Promise<MemoryDocumentRow> {
    requireRole(principal, 'viewer');
    const agent = await this.agent(agentRef);
    const user = MemoryService.scopeOf(userId);
    const rows = await this.deps.prisma.goclawMemoryDocument.findMany({
      where: { agentId: agent.id, path: MemoryService.checkPath(path), userId: { in: user ? ['', user] : [''] } },
      orderBy: { userId: 'desc' },
      take: 1,
    });
    const row = rows[0];
    if (!row) throw new GoClawNotFoundError(`memory document ${path} not found`);
    return row;
  }

  /** One document by id (viewer role); undefined when it does not exist. */
  async document(principal: Principal, id: string): Promise<MemoryDocumentRow | undefined> {
    requireRole(principal, 'viewer');
    if (!isUuid(id)) return undefined;
    return (await this.deps.prisma.goclawMemoryDocument.findUnique({ where: { id: id.toLowerCase() } })) ?? undefined;
  }

  /** Documents, newest change first, optionally of one agent and/or one user (`""`: global ones). Viewer role. */
  async listDocuments(
    principal: Principal,
    input: { agentId?: string | null; userId?: string | null; limit: number; offset: number },
  ): Promise<{ items: MemoryDocumentRow[]; total: number }> {
    requireRole(principal, 'viewer');
    const where: Prisma.GoclawMemoryDocumentWhereInput = {};
    if (input.agentId) where.agentId = (await this.agent(input.agentId)).id;
    if (input.userId !== undefined && input.userId !== null) where.userId = MemoryService.scopeOf(input.userId);
    const [items, total] = await Promise.all([
      this.deps.prisma.goclawMemoryDocument.findMany({
        where,
        orderBy: [{ updatedAt: 'desc' }, { id: 'asc' }],
        take: input.limit,
        skip: input.offset,
      }),
      this.deps.prisma.goclawMemoryDocument.count({ where }),
    ]);
    return { items, total };
  }

  /** Chunks of a document. */
  chunkCount(documentId: string): Promise<number> {
    return this.deps.prisma.goclawMemoryChunk.count({ where: { documentId } });
  }

  /**
   * Searches the agent's global memory (plus the user's personal documents when `userId` is given): vector
   * cosine (pgvector or exact) and full text ('simple' config, words OR-ed), merged by weight; full text only
   * when the agent has no embedding provider. Viewer role.
   */
  async search(principal: Principal, agentRef: string, input: MemorySearchInput): Promise<MemorySearchResult> {
    requireRole(principal, 'viewer');
    const agent = await this.agent(agentRef);
    const query = typeof input.query === 'string' ? input.query.trim() : '';
    if (query === '') throw new GoClawInvalidInputError('query is required');
    if (query.length > 10_000) throw new GoClawInvalidInputError('query is longer than 10,000 characters');
    const limit = input.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new GoClawInvalidInputError('limit must be an integer from 1 to 100');
    const minScore = input.minScore ?? 0;
    if (typeof minScore !== 'number' || !Number.isFinite(minScore) || minScore < 0 || minScore > 1)
      throw new GoClawInvalidInputError('min_score must be a number from 0 to 1');
    const userId = MemoryService.scopeOf(input.userId);
    const users = userId ? ['', userId] : [''];
    const scope = Prisma.sql`c.agent_id = ${agent.id}::uuid AND c.user_id IN (${Prisma.join(users)})`;
    const pool = Math.min(200, limit * 5);

    const embedder = await this.embedderOf(agent);
    const cap = this.deps.config.memoryExactMaxChunks;
    let cut: string | null = null;
    let vector: Candidate[] = [];
    let backend: VectorBackend | null = null;
    if (embedder) {
      const [q] = await this.embed(embedder, [query]);
      const qv = q as number[];
      const qn = norm(qv);
      backend = await this.vectorBackend();
      if (qn > 0) {
        const same = Prisma.sql`${scope} AND c.embedding_model = ${embedder.key} AND c.dims = ${qv.length}`;
        const rows =
          backend === 'pgvector'
            ? await this.deps.prisma.$queryRaw<{ id: string; score: number }[]>`
                SELECT c.id::text AS id, (1 - (c.embedding::vector <=> ${`[${qv.join(',')}]`}::vector))::float8 AS score
                FROM goclaw_memory_chunks c WHERE ${same} AND c.embedding_norm > 0
                ORDER BY c.embedding::vector <=> ${`[${qv.join(',')}]`}::vector LIMIT ${pool}`
            : await this.deps.prisma.$queryRaw<{ id: string; score: number }[]>`
                SELECT id, score FROM (
                  SELECT c.id::text AS id,
                         ((SELECT sum(a * b) FROM unnest(c.embedding, ${pgArray(qv)}::real[]) AS t(a, b))
                           / (c.embedding_norm * ${qn}::float8))::float8 AS score
                  FROM (
                    SELECT c.id, c.embedding, c.embedding_norm
                    FROM goclaw_memory_chunks c JOIN goclaw_memory_documents d ON d.id = c.document_id
                    WHERE ${same} AND c.embedding_norm > 0
                    ORDER BY d.updated_at DESC, c.id LIMIT ${cap}) c) s
                ORDER BY score DESC, id LIMIT ${pool}`;
        if (backend === 'exact') {
          const [n] = await this.deps.prisma.$queryRaw<{ n: number }[]>`
            SELECT count(*)::int AS n FROM goclaw_memory_chunks c WHERE ${same} AND c.embedding_norm > 0`;
          if ((n?.n ?? 0) > cap) {
            cut = `exact vector ranking scanned ${cap} of ${n?.n} chunks (those of the most recently updated documents)`;
          }
        }
        vector = rows.map((r) => ({ id: r.id, vector: Number(r.score) }));
      }
    }
    const tsq = ftsQuery(query);
    const fts: Candidate[] =
      tsq === ''
        ? []
        : (
            await this.deps.prisma.$queryRaw<{ id: string; score: number }[]>`
              SELECT c.id::text AS id, ts_rank(c.tsv, to_tsquery('simple', ${tsq}))::float8 AS score
              FROM goclaw_memory_chunks c WHERE ${scope} AND c.tsv @@ to_tsquery('simple', ${tsq})
              ORDER BY score DESC, id LIMIT ${pool}`
          ).map((r) => ({ id: r.id, fts: Number(r.score) }));

    const ranked = mergeCandidates(vector, fts, { withVectors: embedder !== undefined, limit, minScore });
    const chunks = ranked.length
      ? await this.deps.prisma.goclawMemoryChunk.findMany({
          where: { id: { in: ranked.map((h) => h.id) } },
          select: {
            id: true,
            startLine: true,
            endLine: true,
            text: true,
            userId: true,
            documentId: true,
            document: { select: { path: true } },
          },
        })
      : [];
    const byId = new Map(chunks.map((c) => [c.id, c]));
    const results: MemoryHit[] = [];
    for (const h of ranked) {
      const c = byId.get(h.id);
      if (!c) continue;
      results.push({
        documentId: c.documentId,
        path: c.document.path,
        startLine: c.startLine,
        endLine: c.endLine,
        score: h.score,
        vectorScore: h.vectorScore,
        ftsScore: h.ftsScore,
        snippet: c.text.length > snippetChars ? `${c.text.slice(0, snippetChars)}…` : c.text,
        sources: h.sources,
        scope: c.userId === '' ? 'global' : 'personal',
      });
    }
    return {
      results,
      mode: embedder ? 'hybrid' : 'fts',
      vectorBackend: backend,
      embeddingModel: embedder?.key ?? null,
      note: embedder ? cut : 'no embedding provider is configured for this agent: full-text search only',
    };
  }
}
