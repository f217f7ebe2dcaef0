import { offsetToCursor } from '@pothos/plugin-relay';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy } from '../engine/types.ts';
import {
  type GoClawKgEntityFieldsFragment,
  GoClawKgTraverseDocument,
  GoClawListKgEntitiesDocument,
  GoClawUpsertKgEntityDocument,
} from '../generated/graphql.ts';
import { answer } from './answer.ts';
import { bad, bodyOf, epochMs, headerUser, num, one, queryInt, str } from './memory-params.ts';

/** The entity as REST shows it: snake_case, times as epoch-ms integers (as upstream). */
function toEntity(e: GoClawKgEntityFieldsFragment) {
  return {
    id: e.uuid,
    agent_id: e.agentId,
    user_id: e.userId,
    external_id: e.externalId,
    name: e.name,
    entity_type: e.entityType,
    description: e.description,
    properties: e.properties,
    source_id: e.sourceId,
    confidence: e.confidence,
    created_at: epochMs(e.createdAt),
    updated_at: epochMs(e.updatedAt),
  };
}

/** GET /v1/agents/{agentID}/kg/entities?user_id&type&q&limit=50&offset — a bare array of entities, by name. */
const listEntities = graphqlOperation({
  document: GoClawListKgEntitiesDocument,
  extraQuery: ['user_id', 'type', 'q', 'limit', 'offset'],
  variables: (req) => {
    const limit = queryInt(req, 'limit', 50, 1, 1000);
    const offset = queryInt(req, 'offset', 0, 0, 1_000_000);
    return {
      agentId: req.params.agentID ?? '',
      first: limit,
      after: offset > 0 ? offsetToCursor(offset - 1) : null,
      userId: one(req, 'user_id') ?? headerUser(req),
      type: one(req, 'type') || null,
      q: one(req, 'q') || null,
    };
  },
  respond: ({ goclawKgEntities: r }) =>
    answer(r, (ok) => ({ status: 200, body: ok.data.edges.map((e) => toEntity(e.node)) })),
});

/**
 * POST /v1/agents/{agentID}/kg/entities `{external_id, name, entity_type, description?, properties?, source_id?,
 * confidence?, user_id?}` — 200 `{status: "ok", id}`; the same external_id again updates that entity.
 */
const upsertEntity = graphqlOperation({
  document: GoClawUpsertKgEntityDocument,
  variables: (req) => {
    const body = bodyOf(req);
    const required = (key: string) => {
      const v = str(body, key);
      if (v === null || v === '') throw bad(`body.${key}: is required`);
      return v;
    };
    const properties = body.properties;
    if (properties !== undefined && properties !== null) {
      if (typeof properties !== 'object' || Array.isArray(properties)) throw bad('body.properties: must be object');
      if (Object.values(properties).some((v) => typeof v !== 'string'))
        throw bad('body.properties: values must be strings');
    }
    return {
      agentId: req.params.agentID ?? '',
      input: {
        externalId: required('external_id'),
        name: required('name'),
        entityType: required('entity_type'),
        description: str(body, 'description'),
        properties: properties ?? null,
        sourceId: str(body, 'source_id'),
        confidence: num(body, 'confidence', false),
        userId: str(body, 'user_id'),
      },
    };
  },
  respond: ({ upsertGoClawKgEntity: r }) =>
    answer(r, (ok) => ({ status: 200, body: { status: 'ok', id: ok.data.uuid } })),
});

/**
 * POST /v1/agents/{agentID}/kg/traverse `{entity_id, user_id?, max_depth = 2}` — a bare array
 * `[{entity, depth, path, via}]`, breadth-first; max_depth clamped to [1, 3].
 */
const traverse = graphqlOperation({
  document: GoClawKgTraverseDocument,
  variables: (req) => {
    const body = bodyOf(req);
    const entityId = str(body, 'entity_id');
    if (entityId === null || entityId === '') throw bad('body.entity_id: is required');
    return {
      agentId: req.params.agentID ?? '',
      entityId,
      userId: str(body, 'user_id') ?? headerUser(req),
      maxDepth: num(body, 'max_depth', true),
    };
  },
  respond: ({ goclawKgTraverse: r }) =>
    answer(r, (ok) => ({
      status: 200,
      body: ok.data.map((s) => ({ entity: toEntity(s.entity), depth: s.depth, path: s.path, via: s.via })),
    })),
});

/** The knowledge graph: entities (upsert by external_id) and traversal. */
export const goclawKgOperations = operationsFor<OperationPolicy>().group('kg', 'test/goclaw/kg.test.ts', {
  get_v1_agents_by_agentid_kg_entities: listEntities,
  post_v1_agents_by_agentid_kg_entities: upsertEntity,
  post_v1_agents_by_agentid_kg_traverse: traverse,
});
