import type { AthenaApiKeyClientConfig, AthenaApiKeyGlobalConfig } from '../../../prisma/generated/client/client.ts';
import type { PrismaClient } from '../../core/db.ts';
import type { Logger } from '../../core/logger.ts';
import type { AppPubSub } from '../../core/pubsub.ts';

/*
 * The API-key enforcement switch (notes §1.3): a global value (the row, else ATRIUM_ATHENA_ENFORCE_API_KEYS) and
 * per-client overrides that win over it. Read on every gateway request, so it is held in memory: loaded at start,
 * reloaded here at once when it changes and on every other instance through `athena.apiKeyConfigChanged`.
 */
export class ApiKeyEnforcement {
  private globalRow: AthenaApiKeyGlobalConfig | null = null;
  private clients = new Map<string, AthenaApiKeyClientConfig>();
  private loaded = false;
  private stop: (() => void) | undefined;

  constructor(
    private readonly deps: { prisma: PrismaClient; pubsub: AppPubSub; logger: Logger; defaultEnforce: boolean },
  ) {}

  async start(): Promise<void> {
    const events = this.deps.pubsub.subscribe('athena.apiKeyConfigChanged')[Symbol.asyncIterator]();
    let stopped = false;
    this.stop = () => {
      stopped = true;
      void events.return?.();
    };
    void (async () => {
      while (!stopped) {
        const next = await events.next();
        if (next.done) return;
        await this.reload();
      }
    })().catch((err: unknown) => this.deps.logger.warn({ err }, 'athena enforcement watch ended'));
    await this.reload();
  }

  async reload(): Promise<void> {
    const [global, clients] = await Promise.all([
      this.deps.prisma.athenaApiKeyGlobalConfig.findUnique({ where: { id: 1 } }),
      this.deps.prisma.athenaApiKeyClientConfig.findMany(),
    ]);
    this.globalRow = global;
    this.clients = new Map(clients.map((c) => [c.clientName, c]));
    this.loaded = true;
  }

  /** Whether requests for `clientName` must carry a key (its override, else the global value). */
  enforces(clientName?: string): boolean {
    const override = clientName === undefined ? undefined : this.clients.get(clientName);
    return override?.enforceApiKeys ?? this.globalEnforce;
  }

  get globalEnforce(): boolean {
    return this.globalRow?.enforceApiKeys ?? this.deps.defaultEnforce;
  }

  /** The global value with its last change (the server start when never set). */
  global(startedAt: Date): { enforceApiKeys: boolean; updatedAt: Date } {
    return { enforceApiKeys: this.globalEnforce, updatedAt: this.globalRow?.updatedAt ?? startedAt };
  }

  overrides(): AthenaApiKeyClientConfig[] {
    return [...this.clients.values()].sort((a, b) => a.clientName.localeCompare(b.clientName));
  }

  get ready(): boolean {
    return this.loaded;
  }

  /** After a write: reload here now, elsewhere through the topic. */
  async changed(): Promise<void> {
    await this.reload();
    this.deps.pubsub.publish('athena.apiKeyConfigChanged', {});
  }

  close(): void {
    this.stop?.();
  }
}
