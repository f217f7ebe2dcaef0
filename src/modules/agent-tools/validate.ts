import { GoClawInvalidInputError } from './agent-tools.errors.ts';

const slugPattern = /^[a-z0-9]([a-z0-9_-]{0,98}[a-z0-9])?$/;

/** A lower-case slug (letters, digits, `-`, `_`), 1-100 characters. */
export function slug(field: string, value: string): string {
  if (!slugPattern.test(value)) {
    throw new GoClawInvalidInputError(
      `${field} must be 1-100 lower-case letters, digits, "-" or "_", starting and ending with a letter or digit`,
    );
  }
  return value;
}

/** Optional text: at most `max` characters, no U+0000. */
export function text(field: string, value: string | null | undefined, max: number): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (value.length > max) throw new GoClawInvalidInputError(`${field}: at most ${max} characters`);
  if (value.includes('\0')) throw new GoClawInvalidInputError(`${field} must not contain U+0000`);
  return value;
}

/** An integer in [min, max]. */
export function intIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GoClawInvalidInputError(`${field} must be an integer between ${min} and ${max}`);
  }
  return value;
}

/** A plain JSON object (settings, config). */
export function jsonObject(field: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GoClawInvalidInputError(`${field} must be a JSON object`);
  }
  if (JSON.stringify(value).length > 65_536) throw new GoClawInvalidInputError(`${field}: at most 64 KiB of JSON`);
  return value as Record<string, unknown>;
}

const agentIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

/** An agent reference (uuid or slug; GoClaw's agents live in another module, so only the format is checked). */
export function agentRef(field: string, value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null || value === '') return value === '' ? null : value;
  if (!agentIdPattern.test(value)) throw new GoClawInvalidInputError(`${field} is not an agent id or slug`);
  return value;
}

export const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

/** The agent a grant names: its id (a UUID, what runs match on), lower-cased. */
export function grantAgentId(value: string | null | undefined): string {
  if (!value) throw new GoClawInvalidInputError('agent_id is required');
  if (!isUuid(value)) throw new GoClawInvalidInputError("agent_id must be the agent's id (a UUID)");
  return value.toLowerCase();
}
