import { randomUUID } from 'node:crypto';
import type { GoclawProvider } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import { GoClawConflictError, GoClawInvalidInputError, GoClawNotFoundError } from './goclaw.errors.ts';
import type { LlmHttp } from './llm/http.ts';
import { adapterFor, type LlmAdapter, type ProviderType, providerTypes } from './llm/index.ts';
import { type LlmModel, LlmProviderError } from './llm/types.ts';
import { requireRole } from './roles.ts';

export type ProviderRow = GoclawProvider;

export interface ProviderInput {
  name: string;
  displayName?: string | null;
  providerType: ProviderType;
  apiBase?: string | null;
  apiKey?: string | null;
  enabled?: boolean | null;
  settings?: Record<string, unknown> | null;
}

export type ProviderPatch = Partial<{ [K in keyof ProviderInput]: ProviderInput[K] | null }>;

/** `***`: what every read shows for a stored key; a PUT with it (or an empty string) keeps the stored key. */
export const maskedKey = '***';
const slug = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => uuidPattern.test(s);

function checkApiBase(base: string | null | undefined): string {
  if (!base) return '';
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new GoClawInvalidInputError('api_base must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GoClawInvalidInputError('api_base must be an absolute http(s) URL');
  }
  if (url.username || url.password) throw new GoClawInvalidInputError('api_base must not contain credentials');
  if (base.length > 2048) throw new GoClawInvalidInputError('api_base is longer than 2048 characters');
  return base.replace(/\/+$/, '');
}

function checkSettings(settings: unknown): Record<string, unknown> {
  if (settings === null || settings === undefined) return {};
  if (typeof settings !== 'object' || Array.isArray(settings))
    throw new GoClawInvalidInputError('settings must be an object');
  if (JSON.stringify(settings).length > 64 * 1024) throw new GoClawInvalidInputError('settings is larger than 64 KiB');
  return settings as Record<string, unknown>;
}

/** LLM providers: CRUD with sealed keys, the model list and a real verification call. */
export class ProviderService {
  constructor(private readonly deps: { prisma: PrismaClient; box: SecretBox; http: LlmHttp }) {}

  private async fresh<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.recent.clear();
    }
  }

  async list(principal: Principal): Promise<ProviderRow[]> {
    requireRole(principal, 'viewer');
    return this.deps.prisma.goclawProvider.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  async get(principal: Principal, id: string): Promise<ProviderRow> {
    requireRole(principal, 'viewer');
    const row = isUuid(id) ? await this.deps.prisma.goclawProvider.findUnique({ where: { id } }) : null;
    if (!row) throw new GoClawNotFoundError(`provider ${id} not found`);
    return row;
  }

  /**
   * The provider an agent names (by its slug); undefined when none has that name. The run path's lookup: kept for
   * 2 s per instance (dropped at once here on every change; another instance's change shows within 2 s).
   */
  async byName(name: string): Promise<ProviderRow | undefined> {
    const hit = this.recent.get(name);
    if (hit && hit.until > Date.now()) return hit.row;
    const row = (await this.deps.prisma.goclawProvider.findUnique({ where: { name } })) ?? undefined;
    if (this.recent.size >= 1000) this.recent.clear();
    this.recent.set(name, { row, until: Date.now() + 2000 });
    return row;
  }

  private readonly recent = new Map<string, { row: ProviderRow | undefined; until: number }>();

  async create(principal: Principal, input: ProviderInput): Promise<ProviderRow> {
    requireRole(principal, 'operator');
    if (!slug.test(input.name) || input.name.length > 100) {
      throw new GoClawInvalidInputError('name must be a slug: lowercase letters, digits and inner hyphens (≤ 100)');
    }
    if (!providerTypes.includes(input.providerType)) {
      throw new GoClawInvalidInputError(`provider_type must be one of ${providerTypes.join(', ')}`);
    }
    const apiKey = input.apiKey && input.apiKey !== maskedKey ? input.apiKey : undefined;
    this.recent.clear();
    try {
      return await this.fresh(
        this.deps.prisma.goclawProvider.create({
          data: {
            id: randomUUID(),
            name: input.name,
            displayName: (input.displayName ?? '').slice(0, 200),
            providerType: input.providerType,
            apiBase: checkApiBase(input.apiBase),
            apiKeyEnc: apiKey ? this.deps.box.seal(apiKey) : null,
            enabled: input.enabled ?? true,
            settings: checkSettings(input.settings) as object,
            createdBy: principalId(principal),
          },
        }),
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002')
        throw new GoClawConflictError(`provider "${input.name}" already exists`);
      throw err;
    }
  }

  async update(principal: Principal, id: string, patch: ProviderPatch): Promise<ProviderRow> {
    requireRole(principal, 'operator');
    const current = await this.get(principal, id);
    const data: Record<string, unknown> = {};
    if (patch.name !== undefined && patch.name !== null) {
      if (!slug.test(patch.name) || patch.name.length > 100) throw new GoClawInvalidInputError('name must be a slug');
      data.name = patch.name;
    }
    if (patch.displayName !== undefined && patch.displayName !== null)
      data.displayName = patch.displayName.slice(0, 200);
    if (patch.providerType !== undefined && patch.providerType !== null) {
      if (!providerTypes.includes(patch.providerType))
        throw new GoClawInvalidInputError('provider_type is not a known type');
      data.providerType = patch.providerType;
    }
    if (patch.apiBase !== undefined && patch.apiBase !== null) data.apiBase = checkApiBase(patch.apiBase);
    // `***` or empty keeps the stored key (what a client read back and sends unchanged).
    if (patch.apiKey !== undefined && patch.apiKey !== null && patch.apiKey !== '' && patch.apiKey !== maskedKey) {
      data.apiKeyEnc = this.deps.box.seal(patch.apiKey);
    }
    if (patch.enabled !== undefined && patch.enabled !== null) data.enabled = patch.enabled;
    if (patch.settings !== undefined && patch.settings !== null) data.settings = checkSettings(patch.settings);
    this.recent.clear();
    try {
      return await this.fresh(this.deps.prisma.goclawProvider.update({ where: { id: current.id }, data }));
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002')
        throw new GoClawConflictError(`provider "${String(data.name)}" already exists`);
      if ((err as { code?: string }).code === 'P2025') throw new GoClawNotFoundError(`provider ${id} not found`);
      throw err;
    }
  }

  async delete(principal: Principal, id: string): Promise<ProviderRow> {
    requireRole(principal, 'operator');
    const current = await this.get(principal, id);
    this.recent.clear();
    const deleted = await this.fresh(this.deps.prisma.goclawProvider.deleteMany({ where: { id: current.id } }));
    if (deleted.count === 0) throw new GoClawNotFoundError(`provider ${id} not found`);
    return current;
  }

  /** The adapter for a stored provider (its key opened from the box). */
  adapter(row: ProviderRow): LlmAdapter {
    const key = row.apiKeyEnc ? this.deps.box.open(row.apiKeyEnc) : undefined;
    return adapterFor(row.providerType as ProviderType, this.deps.http, row.apiBase, key);
  }

  /** The provider's own model list (proxied). */
  async models(principal: Principal, id: string): Promise<LlmModel[]> {
    const row = await this.get(principal, id);
    try {
      return await this.adapter(row).models({});
    } catch (err) {
      if (err instanceof LlmProviderError) throw new GoClawInvalidInputError(err.message);
      throw err;
    }
  }

  /** One real minimal completion ("ping", one output token): valid when the provider answers it. */
  async verify(principal: Principal, id: string, model: string): Promise<{ valid: boolean; error: string | null }> {
    requireRole(principal, 'operator');
    const row = await this.get(principal, id);
    if (!model) return { valid: false, error: 'model is required' };
    try {
      await this.adapter(row).complete({ model, messages: [{ role: 'user', content: 'ping' }], maxTokens: 1 }, {});
      return { valid: true, error: null };
    } catch (err) {
      if (err instanceof LlmProviderError) return { valid: false, error: err.message };
      throw err;
    }
  }
}
