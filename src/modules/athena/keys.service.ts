import type {
  ApiKeyIpSeen,
  AthenaApiKeyClientConfig,
  AthenaApiKeyRight,
  GlobalIpRule,
} from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { PrismaClient } from '../../core/db.ts';
import { ApiKeyNotFoundError, InvalidApiKeyInputError } from '../access/access.errors.ts';
import type { AccessService, ApiKeyRow } from '../access/access.service.ts';
import { isUuid } from '../access/access.service.ts';
import type { IpPolicyView, IpRuleKindName } from '../access/ip-policy.ts';
import { athenaRights, clientScopePrefix, requireAdmin } from './athena.access.ts';
import { clientNamePattern } from './athena.config.ts';
import { AthenaConflictError, AthenaInvalidInputError, AthenaNotFoundError } from './athena.errors.ts';
import type { ApiKeyEnforcement } from './enforcement.ts';

/*
 * Athena's access control (G4, docs/athena.md "Access control (G4)"): `ath_` keys are credentials of the one access
 * module — this service gives them Athena's shape (client binding = the `client:<name>` scope, rights = the other
 * scopes, checked against the rights catalog), manages the dynamic rights, the enforcement switch and the IP policy
 * (stored and enforced by access, where keys are verified). Everything here is the admin's.
 */

/** An `ath_` key as Athena shows it. */
export interface AthenaKeyView extends ApiKeyRow {
  readonly athenaKey: true;
  clientName: string | null;
  rights: string[];
}

export interface CreateAthenaKeyInput {
  name: string;
  description?: string | null;
  clientName?: string | null;
  expiresAt?: Date | null;
  rights?: string[] | null;
  virginMode?: boolean | null;
  virginUntilNRequests?: number | null;
  maxWhitelistIps?: number | null;
  ipWhitelist?: string[] | null;
  ipBlacklist?: string[] | null;
}

export interface UpdateAthenaKeyInput {
  name?: string;
  description?: string | null;
  /** null unbinds the key. */
  clientName?: string | null;
  expiresAt?: Date | null;
  isActive?: boolean;
  /** Replaces the grant set. */
  rights?: string[];
}

/** One entry of the rights catalog. */
export interface RightsCatalogEntry {
  name: string;
  description: string | null;
  source: 'native' | 'dynamic';
}

const rightNamePattern = /^[a-z][a-z0-9_.-]{0,63}$/;
const nativeRights = new Set<string>(athenaRights);

export function toKeyView(row: ApiKeyRow): AthenaKeyView {
  const client = row.scopes.find((s) => s.startsWith(clientScopePrefix));
  return {
    ...row,
    athenaKey: true,
    clientName: client ? client.slice(clientScopePrefix.length) : null,
    rights: row.scopes.filter((s) => !s.startsWith(clientScopePrefix)),
  };
}

export class AthenaKeysService {
  private readonly startedAt = new Date();

  constructor(private readonly deps: { prisma: PrismaClient; access: AccessService; enforcement: ApiKeyEnforcement }) {}

  // ---- keys

  async listKeys(p: Principal, page: { limit: number; offset: number }) {
    requireAdmin(p);
    const { rows, total } = await this.deps.access.listApiKeys(p, 'athena', page);
    return { keys: rows.map(toKeyView), total };
  }

  /** A live key (deleted ones are not found). */
  async key(p: Principal, id: string): Promise<AthenaKeyView> {
    requireAdmin(p);
    const row = await this.row(p, id);
    if (row.deletedAt) throw new AthenaNotFoundError('API key', id);
    return toKeyView(row);
  }

  /** Any key, deleted included (node lookups). */
  async keyById(p: Principal, id: string): Promise<AthenaKeyView | null> {
    return this.row(p, id)
      .then(toKeyView)
      .catch(() => null);
  }

  private async row(p: Principal, id: string): Promise<ApiKeyRow> {
    try {
      return await this.deps.access.apiKeyRow(p, id, 'athena');
    } catch (e) {
      throw mapped(e, id);
    }
  }

  async createKey(p: Principal, input: CreateAthenaKeyInput): Promise<{ rawKey: string; key: AthenaKeyView }> {
    requireAdmin(p);
    if (typeof input.name !== 'string' || input.name.trim() === '') {
      throw new AthenaInvalidInputError('name is required', 'missing_required_field');
    }
    const scopes = await this.scopesOf(input.clientName ?? null, input.rights ?? []);
    try {
      const { apiKeyId, rawKey } = await this.deps.access.createApiKey(p, {
        product: 'athena',
        name: input.name,
        description: input.description ?? null,
        scopes,
        expiresAt: input.expiresAt ?? null,
        ipPolicy: {
          virginMode: input.virginMode ?? false,
          virginUntilNRequests: input.virginUntilNRequests ?? 0,
          maxWhitelistIps: input.maxWhitelistIps ?? 0,
          whitelist: input.ipWhitelist ?? [],
          blacklist: input.ipBlacklist ?? [],
        },
      });
      return { rawKey, key: await this.key(p, apiKeyId) };
    } catch (e) {
      throw mapped(e, '');
    }
  }

  async updateKey(p: Principal, id: string, input: UpdateAthenaKeyInput): Promise<AthenaKeyView> {
    requireAdmin(p);
    const current = await this.key(p, id);
    let scopes: string[] | undefined;
    if (input.rights !== undefined || input.clientName !== undefined) {
      scopes = await this.scopesOf(
        input.clientName === undefined ? current.clientName : input.clientName,
        input.rights ?? current.rights,
        input.rights === undefined,
      );
    }
    try {
      const row = await this.deps.access.updateApiKey(
        p,
        id,
        {
          name: input.name,
          description: input.description,
          scopes,
          expiresAt: input.expiresAt,
          isActive: input.isActive,
        },
        'athena',
      );
      return toKeyView(row);
    } catch (e) {
      throw mapped(e, id);
    }
  }

  async deleteKey(p: Principal, id: string): Promise<AthenaKeyView> {
    requireAdmin(p);
    try {
      return toKeyView(await this.deps.access.deleteApiKey(p, id, 'athena'));
    } catch (e) {
      throw mapped(e, id);
    }
  }

  /** The scopes of a key: its binding and its rights, every right known to the catalog (else 400). */
  private async scopesOf(clientName: string | null, rights: string[], keepUnknown = false): Promise<string[]> {
    if (clientName !== null && (typeof clientName !== 'string' || !clientNamePattern.test(clientName))) {
      throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
    }
    if (!Array.isArray(rights) || rights.some((r) => typeof r !== 'string')) {
      throw new AthenaInvalidInputError('rights must be an array of strings');
    }
    const unique = [...new Set(rights)];
    if (!keepUnknown) {
      const known = new Set(await this.catalogNames());
      const unknown = unique.filter((r) => !known.has(r));
      if (unknown.length > 0) {
        throw new AthenaInvalidInputError(`unknown right(s): ${unknown.join(', ')}`, 'unknown_right');
      }
    }
    return [...(clientName !== null ? [`${clientScopePrefix}${clientName}`] : []), ...unique];
  }

  // ---- rights

  private async catalogNames(): Promise<string[]> {
    const dynamic = await this.deps.prisma.athenaApiKeyRight.findMany({ select: { name: true } });
    return [...athenaRights, ...dynamic.map((r) => r.name)];
  }

  async rights(p: Principal): Promise<AthenaApiKeyRight[]> {
    requireAdmin(p);
    return this.deps.prisma.athenaApiKeyRight.findMany({ orderBy: { name: 'asc' } });
  }

  async rightById(p: Principal, id: string): Promise<AthenaApiKeyRight | null> {
    requireAdmin(p);
    return isUuid(id) ? this.deps.prisma.athenaApiKeyRight.findUnique({ where: { id } }) : null;
  }

  async catalog(p: Principal): Promise<RightsCatalogEntry[]> {
    requireAdmin(p);
    const dynamic = await this.rights(p);
    return [
      ...athenaRights.map((name) => ({ name, description: null, source: 'native' as const })),
      ...dynamic.map((r) => ({ name: r.name, description: r.description, source: 'dynamic' as const })),
    ];
  }

  private checkDescription(description: string | null | undefined): void {
    if (typeof description === 'string' && description.length > 2000) {
      throw new AthenaInvalidInputError('description must be at most 2000 characters');
    }
  }

  private checkRightName(name: unknown): string {
    if (typeof name !== 'string' || !rightNamePattern.test(name)) {
      throw new AthenaInvalidInputError('name must be 1-64 of a-z 0-9 _ . - starting with a letter');
    }
    if (nativeRights.has(name)) throw new AthenaConflictError(`"${name}" is a native right`);
    return name;
  }

  async createRight(p: Principal, input: { name: string; description?: string | null }): Promise<AthenaApiKeyRight> {
    requireAdmin(p);
    const name = this.checkRightName(input.name);
    this.checkDescription(input.description);
    const existing = await this.deps.prisma.athenaApiKeyRight.findUnique({ where: { name } });
    if (existing) throw new AthenaConflictError(`the right "${name}" exists`);
    return this.deps.prisma.athenaApiKeyRight.create({ data: { name, description: input.description ?? null } });
  }

  /** Renames a right (keys holding it keep it under the new name) and sets its description. */
  async updateRight(
    p: Principal,
    id: string,
    input: { name: string; description?: string | null },
  ): Promise<AthenaApiKeyRight> {
    requireAdmin(p);
    const current = await this.rightById(p, id);
    if (!current) throw new AthenaNotFoundError('Right', id);
    const name = this.checkRightName(input.name);
    this.checkDescription(input.description);
    const { prisma } = this.deps;
    const [right, keyIds] = await prisma.$transaction(async (tx) => {
      if (name !== current.name && (await tx.athenaApiKeyRight.findUnique({ where: { name } }))) {
        throw new AthenaConflictError(`the right "${name}" exists`);
      }
      const updated = await tx.athenaApiKeyRight.update({
        where: { id: current.id },
        data: { name, ...(input.description !== undefined ? { description: input.description } : {}) },
      });
      const keys =
        name === current.name
          ? []
          : await tx.$queryRaw<{ id: string }[]>`
              UPDATE api_keys SET scopes = array_replace(scopes, ${current.name}, ${name}), updated_at = now()
               WHERE product = 'athena' AND ${current.name} = ANY(scopes) RETURNING id`;
      return [updated, keys.map((k) => k.id)] as const;
    });
    this.deps.access.keysChanged(keyIds, 'athena');
    return right;
  }

  /** Removes a right and every grant of it. */
  async deleteRight(p: Principal, id: string): Promise<AthenaApiKeyRight> {
    requireAdmin(p);
    const current = await this.rightById(p, id);
    if (!current) throw new AthenaNotFoundError('Right', id);
    const keyIds = await this.deps.prisma.$transaction(async (tx) => {
      await tx.athenaApiKeyRight.delete({ where: { id: current.id } });
      const keys = await tx.$queryRaw<{ id: string }[]>`
        UPDATE api_keys SET scopes = array_remove(scopes, ${current.name}), updated_at = now()
         WHERE product = 'athena' AND ${current.name} = ANY(scopes) RETURNING id`;
      return keys.map((k) => k.id);
    });
    this.deps.access.keysChanged(keyIds, 'athena');
    return current;
  }

  // ---- enforcement

  enforcementConfig(p: Principal) {
    requireAdmin(p);
    const { enforcement } = this.deps;
    return { global: enforcement.global(this.startedAt), clients: enforcement.overrides() };
  }

  async setGlobalEnforcement(p: Principal, enforce: boolean) {
    requireAdmin(p);
    await this.deps.prisma.athenaApiKeyGlobalConfig.upsert({
      where: { id: 1 },
      create: { id: 1, enforceApiKeys: enforce },
      update: { enforceApiKeys: enforce },
    });
    await this.deps.enforcement.changed();
    return this.enforcementConfig(p);
  }

  async setClientEnforcement(p: Principal, clientName: string, enforce: boolean): Promise<AthenaApiKeyClientConfig> {
    requireAdmin(p);
    if (!clientNamePattern.test(clientName)) {
      throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
    }
    const row = await this.deps.prisma.athenaApiKeyClientConfig.upsert({
      where: { clientName },
      create: { clientName, enforceApiKeys: enforce },
      update: { enforceApiKeys: enforce },
    });
    await this.deps.enforcement.changed();
    return row;
  }

  async deleteClientEnforcement(p: Principal, clientName: string): Promise<string> {
    requireAdmin(p);
    const { count } = await this.deps.prisma.athenaApiKeyClientConfig.deleteMany({ where: { clientName } });
    if (count === 0) throw new AthenaNotFoundError('API key client config', clientName);
    await this.deps.enforcement.changed();
    return clientName;
  }

  // ---- IP policy

  async ipPolicy(p: Principal, id: string): Promise<IpPolicyView> {
    const key = await this.key(p, id);
    return this.deps.access.ip.policy(key.id);
  }

  async addIpRules(p: Principal, id: string, kind: IpRuleKindName, addrs: string[], label: string | null) {
    const key = await this.key(p, id);
    await ipCall(() => this.deps.access.ip.addRules(key.id, kind, addrs, label));
    this.deps.access.keysChanged([key.id], 'athena');
    return this.deps.access.ip.policy(key.id);
  }

  async removeIpRules(p: Principal, id: string, kind: IpRuleKindName, addrs: string[]) {
    const key = await this.key(p, id);
    await ipCall(() => this.deps.access.ip.removeRules(key.id, kind, addrs));
    this.deps.access.keysChanged([key.id], 'athena');
    return this.deps.access.ip.policy(key.id);
  }

  async seenIps(
    p: Principal,
    id: string,
    page: { limit: number; offset: number },
  ): Promise<{ records: ApiKeyIpSeen[]; total: number }> {
    const key = await this.key(p, id);
    if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 1000) {
      throw new AthenaInvalidInputError('limit must be from 1 to 1000', 'invalid_parameter');
    }
    if (!Number.isInteger(page.offset) || page.offset < 0) {
      throw new AthenaInvalidInputError('offset must be >= 0', 'invalid_parameter');
    }
    return this.deps.access.ip.seen(key.id, page.limit, page.offset);
  }

  async promoteVirgin(p: Principal, id: string) {
    const key = await this.key(p, id);
    await this.deps.access.ip.promote(key.id);
    this.deps.access.keysChanged([key.id], 'athena');
    return this.deps.access.ip.policy(key.id);
  }

  async resetVirgin(p: Principal, id: string, clearSeen: boolean) {
    const key = await this.key(p, id);
    await this.deps.access.ip.reset(key.id, clearSeen);
    this.deps.access.keysChanged([key.id], 'athena');
    return this.deps.access.ip.policy(key.id);
  }

  async globalIpRules(p: Principal, kind: IpRuleKindName): Promise<GlobalIpRule[]> {
    requireAdmin(p);
    return this.deps.access.ip.listGlobal(kind);
  }

  async globalIpRuleById(p: Principal, id: string): Promise<GlobalIpRule | null> {
    requireAdmin(p);
    return isUuid(id) ? this.deps.access.ip.globalById(id) : null;
  }

  async upsertGlobalIpRule(
    p: Principal,
    input: { kind: IpRuleKindName; addr: string; clientName?: string | null; label?: string | null },
  ): Promise<GlobalIpRule> {
    requireAdmin(p);
    const client = checkRuleClient(input.clientName);
    return ipCall(() => this.deps.access.ip.upsertGlobal(input.kind, input.addr, client, input.label ?? null));
  }

  async deleteGlobalIpRule(
    p: Principal,
    input: { kind: IpRuleKindName; addr: string; clientName?: string | null },
  ): Promise<boolean> {
    requireAdmin(p);
    const client = checkRuleClient(input.clientName);
    return ipCall(() => this.deps.access.ip.deleteGlobal(input.kind, input.addr, client));
  }
}

function checkRuleClient(clientName: string | null | undefined): string | null {
  if (clientName === undefined || clientName === null || clientName === '') return null;
  if (!clientNamePattern.test(clientName)) {
    throw new AthenaInvalidInputError('client_name must be 1-63 lowercase letters, digits, _ or -');
  }
  return clientName;
}

async function ipCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapped(e, '');
  }
}

function mapped(e: unknown, id: string): unknown {
  if (e instanceof ApiKeyNotFoundError) return new AthenaNotFoundError('API key', id);
  if (e instanceof InvalidApiKeyInputError) {
    return new AthenaInvalidInputError(
      e.message,
      /IP address/.test(e.message) ? 'invalid_ip_address' : 'invalid_request',
    );
  }
  return e;
}
