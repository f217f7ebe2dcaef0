import { offsetToCursor } from '@pothos/plugin-relay';
import { operationsFor } from '../engine/operation.ts';
import {
  GoClawActivityDocument,
  GoClawDelegationsDocument,
  GoClawHealthDocument,
  GoClawUploadMediaDocument,
  GoClawWorkspaceFilesDocument,
} from '../generated/graphql.ts';
import { multipartFile } from './multipart.ts';
import type { GoClawPolicy } from './query-token.ts';
import { failure, paging, queryValue } from './tool-body.ts';

const { graphql: graphqlOperation, direct: directOperation, group } = operationsFor<GoClawPolicy>();

const after = (offset: number) => (offset > 0 ? offsetToCursor(offset - 1) : null);

/** GET /health — the contract's `{status, uptime_ms, mode, database}`; no credential. */
const health = graphqlOperation({
  document: GoClawHealthDocument,
  variables: () => ({}),
  respond: ({ goClawHealth: h }) => ({
    status: 200,
    body: { status: h.status, uptime_ms: h.uptimeMs, mode: h.mode, database: h.database },
  }),
});

/** POST /v1/media/upload — multipart `file`; 200 `{id, path, mime_type, filename, size}`. */
const uploadMedia = graphqlOperation({
  document: GoClawUploadMediaDocument,
  variables: async (req) => {
    const file = await multipartFile(req);
    return { input: { filename: file.filename, mimeType: file.type, contentBase64: file.bytes.toString('base64') } };
  },
  respond: ({ uploadGoClawMedia: r }) =>
    r.__typename === 'MutationUploadGoClawMediaSuccess'
      ? {
          status: 200,
          body: {
            id: r.data.uuid,
            path: `/v1/media/${r.data.uuid}`,
            mime_type: r.data.mimeType,
            filename: r.data.filename,
            size: r.data.size,
          },
        }
      : failure(r),
});

/** Types a browser may render inline; anything else is served as an attachment. */
const inlineTypes =
  /^(image\/(png|jpeg|gif|webp|avif)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|application\/pdf|text\/plain)$/;

/**
 * GET /v1/media/{id} — the bytes with their Content-Type. The credential may come as `?token=` (for `<img>`).
 * User-supplied bytes are never rendered as active content here: `nosniff`, a sandboxing CSP, and
 * `attachment` for types other than images, audio, video, PDF and plain text.
 */
const serveMedia = directOperation({
  reason: 'raw bytes of a stored media file with its own Content-Type',
  policy: { tokenInQuery: true },
  extraQuery: ['token'],
  handle: async (req, services) => {
    const { media, body } = await services.agenttools.workspace.media(req.principal, req.params.id ?? '');
    const disposition = inlineTypes.test(media.mimeType) ? 'inline' : 'attachment';
    return {
      status: 200,
      body,
      headers: {
        'content-type': media.mimeType,
        'content-disposition': `${disposition}; filename="${media.filename}"`,
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
        'cache-control': 'private, max-age=3600',
      },
    };
  },
});

/** GET /v1/storage/files?path= — `{files: [{path, name, isDir, size, hasChildren?, protected}], baseDir}`. */
const listFiles = graphqlOperation({
  document: GoClawWorkspaceFilesDocument,
  variables: (req) => ({ path: queryValue(req, 'path') ?? null }),
  respond: ({ goClawWorkspaceFiles: r }) =>
    r.__typename === 'QueryGoClawWorkspaceFilesSuccess'
      ? {
          status: 200,
          body: {
            baseDir: r.data.baseDir,
            files: r.data.files.map((f) => ({
              path: f.path,
              name: f.name,
              isDir: f.isDir,
              size: f.size,
              ...(f.hasChildren === null ? {} : { hasChildren: f.hasChildren }),
              protected: f.protected,
            })),
          },
        }
      : failure(r),
});

/** GET /v1/activity — `{logs, total, limit, offset}`. */
const listActivity = graphqlOperation({
  document: GoClawActivityDocument,
  variables: (req) => {
    const { limit, offset } = paging(req);
    return { first: limit, after: after(offset) };
  },
  respond: (data, req) => {
    const { limit, offset } = paging(req);
    const c = data.goClawActivity;
    return {
      status: 200,
      body: {
        logs: c.edges.map(({ node: n }) => ({
          id: n.uuid,
          actor_type: n.actorType,
          actor_id: n.actorId,
          action: n.action,
          entity_type: n.entityType,
          entity_id: n.entityId,
          details: n.details,
          created_at: n.createdAt,
        })),
        total: c.totalCount,
        limit,
        offset,
      },
    };
  },
});

/** GET /v1/delegations — `{records, total}` (empty until the agent loop records hand-offs). */
const listDelegations = graphqlOperation({
  extraQuery: ['agent_id', 'limit', 'offset'],
  document: GoClawDelegationsDocument,
  variables: (req) => {
    const { limit, offset } = paging(req);
    return { first: limit, after: after(offset), agentId: queryValue(req, 'agent_id') ?? null };
  },
  respond: (data) => ({
    status: 200,
    body: {
      records: data.goClawDelegations.edges.map(({ node: n }) => ({
        id: n.uuid,
        source_agent_id: n.sourceAgentId,
        target_agent_id: n.targetAgentId,
        user_id: n.userId,
        task: n.task,
        status: n.status,
        result: n.result,
        created_at: n.createdAt,
        completed_at: n.completedAt,
      })),
      total: data.goClawDelegations.totalCount,
    },
  }),
});

/** Health, media, the workspace listing, the activity log and delegation history. */
export const goclawWorkspaceOperations = group('workspace', 'test/goclaw/workspace.test.ts', {
  get_health: health,
  post_v1_media_upload: uploadMedia,
  get_v1_media_by_id: serveMedia,
  get_v1_storage_files: listFiles,
  get_v1_activity: listActivity,
  get_v1_delegations: listDelegations,
});
