import type {
  AthenaS3Catalog,
  AthenaS3Credential,
  Prisma,
  PrismaClient,
} from '../../../prisma/generated/client/client.ts';
import type { Principal } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import { requireAdmin } from './athena.access.ts';
import { AthenaInvalidInputError, AthenaNotFoundError, UnknownClientError } from './athena.errors.ts';
import type { AthenaClientsService } from './clients.service.ts';

/*
 * S3 catalogs and credentials (G11, docs/athena.md "Raw S3 and catalogs (G11)"): rows of the platform database
 * keyed by client name (docs/decisions.md), secret keys and session tokens sealed with SecretBox and never returned.
 * Create writes the catalog and its active credential in one transaction; an update rotates the credential only
 * when both keys are given; delete is soft and deactivates every credential.
 */

export type CatalogWithCredential = AthenaS3Catalog & { active: AthenaS3Credential | null };
export type CredentialWithCatalog = AthenaS3Credential & { catalog: AthenaS3Catalog };

export interface CreateS3CatalogInput {
  name: string;
  description?: string | null;
  endpoint: string;
  region: string;
  bucket?: string | null;
  provider?: string | null;
  accessKeyId: string;
  secretKey: string;
  sessionToken?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface UpdateS3CatalogInput {
  name?: string | null;
  description?: string | null;
  endpoint?: string | null;
  region?: string | null;
  bucket?: string | null;
  provider?: string | null;
  accessKeyId?: string | null;
  secretKey?: string | null;
  sessionToken?: string | null;
  isActive?: boolean | null;
  metadata?: Record<string, unknown> | null;
}

/** What a raw S3 operation connects with, opened from a catalog (the secret only in memory). */
export interface OpenedS3Catalog {
  id: string;
  endpoint: string;
  region: string;
  bucket: string | null;
  accessKeyId: string;
  secretKey: string;
  sessionToken: string | null;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(value: string | null | undefined, field: string, max: number, allowEmpty = false): string | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.trim();
  if ((!allowEmpty && v === '') || v.length > max) {
    throw new AthenaInvalidInputError(
      `${field} must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${max} characters`,
    );
  }
  return v;
}

function metadataOf(value: Record<string, unknown> | null | undefined): Prisma.InputJsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new AthenaInvalidInputError('metadata must be an object');
  if (JSON.stringify(value).length > 16_384) throw new AthenaInvalidInputError('metadata: at most 16 KiB of JSON');
  return value as Prisma.InputJsonObject;
}

export class AthenaS3CatalogsService {
  constructor(private readonly deps: { prisma: PrismaClient; box: SecretBox; clients: AthenaClientsService }) {}

  /** `X-Athena-Client` must name a live client (400 otherwise, as the contract says). */
  private async client(clientName: string | undefined): Promise<string> {
    if (!clientName) throw new UnknownClientError(undefined);
    const row = await this.deps.clients.find(clientName);
    if (!row) throw new UnknownClientError(clientName);
    return clientName;
  }

  private async withActive(rows: AthenaS3Catalog[]): Promise<CatalogWithCredential[]> {
    if (rows.length === 0) return [];
    const creds = await this.deps.prisma.athenaS3Credential.findMany({
      where: { catalogId: { in: rows.map((r) => r.id) }, isActive: true },
      orderBy: { createdAt: 'desc' },
    });
    return rows.map((r) => ({ ...r, active: creds.find((c) => c.catalogId === r.id) ?? null }));
  }

  async list(principal: Principal, clientName: string | undefined): Promise<CatalogWithCredential[]> {
    requireAdmin(principal);
    const client = await this.client(clientName);
    const rows = await this.deps.prisma.athenaS3Catalog.findMany({
      where: { clientName: client, deletedAt: null },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return this.withActive(rows);
  }

  /** The client's active credentials of live catalogs (the access key only; never the secret). */
  async credentials(principal: Principal, clientName: string | undefined): Promise<CredentialWithCatalog[]> {
    requireAdmin(principal);
    const client = await this.client(clientName);
    return this.deps.prisma.athenaS3Credential.findMany({
      where: { isActive: true, catalog: { clientName: client, deletedAt: null } },
      include: { catalog: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  async get(principal: Principal, clientName: string | undefined, id: string): Promise<CatalogWithCredential> {
    requireAdmin(principal);
    const client = await this.client(clientName);
    const row = await this.live(client, id);
    const [view] = await this.withActive([row]);
    return view as CatalogWithCredential;
  }

  /** For node lookups by global id: the live catalog, whatever its client; null when there is none. */
  async byId(principal: Principal, id: string): Promise<CatalogWithCredential | null> {
    requireAdmin(principal);
    if (!uuidPattern.test(id)) return null;
    const row = await this.deps.prisma.athenaS3Catalog.findFirst({ where: { id, deletedAt: null } });
    return row ? ((await this.withActive([row]))[0] ?? null) : null;
  }

  async credentialById(principal: Principal, id: string): Promise<CredentialWithCatalog | null> {
    requireAdmin(principal);
    if (!uuidPattern.test(id)) return null;
    return this.deps.prisma.athenaS3Credential.findFirst({
      where: { id, catalog: { deletedAt: null } },
      include: { catalog: true },
    });
  }

  private async live(client: string, id: string): Promise<AthenaS3Catalog> {
    const row = uuidPattern.test(id)
      ? await this.deps.prisma.athenaS3Catalog.findFirst({ where: { id, clientName: client, deletedAt: null } })
      : null;
    if (!row) throw new AthenaNotFoundError('S3 catalog entry', id);
    return row;
  }

  async create(
    principal: Principal,
    clientName: string | undefined,
    input: CreateS3CatalogInput,
  ): Promise<CatalogWithCredential> {
    requireAdmin(principal);
    const client = await this.client(clientName);
    const data = {
      clientName: client,
      name: text(input.name, 'name', 200) as string,
      description: text(input.description, 'description', 2000, true) ?? '',
      endpoint: text(input.endpoint, 'endpoint', 2000) as string,
      region: text(input.region, 'region', 100) as string,
      bucket: text(input.bucket, 'bucket', 255) ?? null,
      provider: text(input.provider, 'provider', 100) ?? 's3',
      metadata: metadataOf(input.metadata) ?? {},
    };
    const accessKey = text(input.accessKeyId, 'access_key_id', 512) as string;
    const secret = text(input.secretKey, 'secret_key', 4096) as string;
    const token = text(input.sessionToken, 'session_token', 8192);
    return this.deps.prisma.$transaction(async (tx) => {
      const row = await tx.athenaS3Catalog.create({ data });
      const active = await tx.athenaS3Credential.create({
        data: {
          catalogId: row.id,
          accessKey,
          secretKeyEnc: this.deps.box.seal(secret),
          sessionTokenEnc: token ? this.deps.box.seal(token) : null,
        },
      });
      return { ...row, active };
    });
  }

  async update(
    principal: Principal,
    clientName: string | undefined,
    id: string,
    input: UpdateS3CatalogInput,
  ): Promise<CatalogWithCredential> {
    requireAdmin(principal);
    const client = await this.client(clientName);
    const accessKey = text(input.accessKeyId, 'access_key_id', 512);
    const secret = text(input.secretKey, 'secret_key', 4096);
    const token = text(input.sessionToken, 'session_token', 8192);
    const data: Prisma.AthenaS3CatalogUpdateInput = {
      name: text(input.name, 'name', 200),
      description: text(input.description, 'description', 2000, true),
      endpoint: text(input.endpoint, 'endpoint', 2000),
      region: text(input.region, 'region', 100),
      provider: text(input.provider, 'provider', 100),
      isActive: input.isActive ?? undefined,
      metadata: metadataOf(input.metadata),
    };
    if (input.bucket !== undefined) data.bucket = text(input.bucket, 'bucket', 255) ?? null;
    await this.deps.prisma.$transaction(async (tx) => {
      const row = uuidPattern.test(id)
        ? await tx.athenaS3Catalog.findFirst({ where: { id, clientName: client, deletedAt: null } })
        : null;
      if (!row) throw new AthenaNotFoundError('S3 catalog entry', id);
      await tx.athenaS3Catalog.update({ where: { id }, data });
      // Rotation needs both keys; one of them alone changes metadata only (the notes, G11).
      if (accessKey !== undefined && secret !== undefined) {
        await tx.athenaS3Credential.updateMany({ where: { catalogId: id, isActive: true }, data: { isActive: false } });
        await tx.athenaS3Credential.create({
          data: {
            catalogId: id,
            accessKey,
            secretKeyEnc: this.deps.box.seal(secret),
            sessionTokenEnc: token ? this.deps.box.seal(token) : null,
          },
        });
      }
    });
    return this.get(principal, client, id);
  }

  async delete(principal: Principal, clientName: string | undefined, id: string): Promise<{ id: string }> {
    requireAdmin(principal);
    const client = await this.client(clientName);
    await this.deps.prisma.$transaction(async (tx) => {
      const row = uuidPattern.test(id)
        ? await tx.athenaS3Catalog.findFirst({ where: { id, clientName: client, deletedAt: null } })
        : null;
      if (!row) throw new AthenaNotFoundError('S3 catalog entry', id);
      await tx.athenaS3Catalog.update({ where: { id }, data: { deletedAt: new Date(), isActive: false } });
      await tx.athenaS3Credential.updateMany({ where: { catalogId: id }, data: { isActive: false } });
    });
    return { id };
  }

  /**
   * The connection of a live, active catalog of `clientName` named by id or name, its secret opened in memory for
   * one raw S3 operation. 404 when there is none; 400 when it is inactive or has no active credential.
   */
  async open(principal: Principal, clientName: string | undefined, ref: string): Promise<OpenedS3Catalog> {
    requireAdmin(principal);
    return this.openTrusted(await this.client(clientName), ref);
  }

  /**
   * `open` without the admin check, for managed storage (G12), whose callers are authorised by file permissions
   * before any S3 call. The catalog must belong to `client`.
   */
  async openTrusted(client: string, ref: string): Promise<OpenedS3Catalog> {
    const where = uuidPattern.test(ref) ? { id: ref } : { name: ref };
    const row = await this.deps.prisma.athenaS3Catalog.findFirst({
      where: { ...where, clientName: client, deletedAt: null },
      orderBy: { createdAt: 'desc' },
    });
    if (!row) throw new AthenaNotFoundError('S3 catalog entry', ref);
    const [view] = await this.withActive([row]);
    if (!row.isActive || !view?.active) {
      throw new AthenaInvalidInputError(`S3 catalog entry "${ref}" is inactive or has no active credential`);
    }
    return {
      id: row.id,
      endpoint: row.endpoint,
      region: row.region,
      bucket: row.bucket,
      accessKeyId: view.active.accessKey,
      secretKey: this.deps.box.open(view.active.secretKeyEnc),
      sessionToken: view.active.sessionTokenEnc ? this.deps.box.open(view.active.sessionTokenEnc) : null,
    };
  }
}
