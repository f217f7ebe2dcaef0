import { InvalidInputError } from '../../src/core/errors.ts';
import { graphqlOperation, operationsFor } from '../engine/operation.ts';
import type { OperationPolicy } from '../engine/types.ts';
import {
  GoClawDeleteSkillDocument,
  GoClawGetSkillDocument,
  GoClawListSkillsDocument,
  type GoClawSkillFieldsFragment,
  type GoClawSkillStatus,
  type GoClawSkillVisibility,
  GoClawUpdateSkillDocument,
  GoClawUploadSkillDocument,
} from '../generated/graphql.ts';
import { multipartFile } from './multipart.ts';
import { defined, failure, jsonBody, str, strings } from './tool-body.ts';

/** A skill as GoClaw returns it. */
export function toGoClawSkill(s: GoClawSkillFieldsFragment) {
  return {
    id: s.uuid,
    name: s.name,
    slug: s.slug,
    description: s.description,
    owner_id: s.ownerId,
    visibility: s.visibility,
    version: s.version,
    status: s.status,
    frontmatter: s.frontmatter,
    file_path: s.filePath,
    file_size: s.fileSize,
    file_hash: s.fileHash,
    tags: s.tags,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

const listSkills = graphqlOperation({
  document: GoClawListSkillsDocument,
  variables: () => ({ first: 1000 }),
  respond: (data) => ({
    status: 200,
    body: { skills: data.goClawSkills.edges.map(({ node }) => toGoClawSkill(node)) },
  }),
});

/**
 * POST /v1/skills — multipart `file` = a ZIP with SKILL.md; 201 with the skill. The ZIP travels to GraphQL's
 * `uploadGoClawSkill` base64-encoded (the shim's body limit bounds it first).
 */
const uploadSkill = graphqlOperation({
  document: GoClawUploadSkillDocument,
  variables: async (req) => {
    const file = await multipartFile(req);
    const owner = header(req.headers['x-goclaw-user-id']);
    return {
      input: {
        zipBase64: file.bytes.toString('base64'),
        ownerId: owner && owner.length <= 255 ? owner : null,
      },
    };
  },
  respond: ({ uploadGoClawSkill: r }) =>
    r.__typename === 'MutationUploadGoClawSkillSuccess' ? { status: 201, body: toGoClawSkill(r.data) } : failure(r),
});

const getSkill = graphqlOperation({
  document: GoClawGetSkillDocument,
  variables: (req) => ({ idOrSlug: req.params.id ?? '' }),
  respond: ({ goClawSkill: r }) =>
    r.__typename === 'QueryGoClawSkillSuccess' ? { status: 200, body: toGoClawSkill(r.data) } : failure(r),
});

const visibilities = new Set(['private', 'public']);
const statuses = new Set(['active', 'disabled']);

/** PUT /v1/skills/{id} — name, description, visibility, status, tags; `{ok: "true"}` as upstream answers. */
const updateSkill = graphqlOperation({
  document: GoClawUpdateSkillDocument,
  variables: (req) => {
    const b = jsonBody(req);
    const visibility = str(b, 'visibility');
    const status = str(b, 'status');
    if (visibility && !visibilities.has(visibility))
      throw new InvalidInputError('visibility must be private or public');
    if (status && !statuses.has(status)) throw new InvalidInputError('status must be active or disabled');
    return {
      idOrSlug: req.params.id ?? '',
      input: defined({
        name: str(b, 'name'),
        description: str(b, 'description'),
        visibility: (visibility ?? undefined) as GoClawSkillVisibility | undefined,
        status: (status ?? undefined) as GoClawSkillStatus | undefined,
        tags: strings(b, 'tags'),
      }),
    };
  },
  respond: ({ updateGoClawSkill: r }) =>
    r.__typename === 'MutationUpdateGoClawSkillSuccess' ? { status: 200, body: { ok: 'true' } } : failure(r),
});

const deleteSkill = graphqlOperation({
  document: GoClawDeleteSkillDocument,
  variables: (req) => ({ idOrSlug: req.params.id ?? '' }),
  respond: ({ deleteGoClawSkill: r }) =>
    r.__typename === 'MutationDeleteGoClawSkillSuccess' ? { status: 200, body: { ok: 'true' } } : failure(r),
});

/** Skills: ZIP upload with SKILL.md (object storage + metadata), metadata updates, delete. */
export const goclawSkillOperations = operationsFor<OperationPolicy>().group('skills', 'test/goclaw/skills.test.ts', {
  get_v1_skills: listSkills,
  post_v1_skills: uploadSkill,
  get_v1_skills_by_id: getSkill,
  put_v1_skills_by_id: updateSkill,
  delete_v1_skills_by_id: deleteSkill,
});
