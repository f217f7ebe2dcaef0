import { transform } from 'esbuild';
import type { GoClawBuiltinToolSetting, GoClawCustomTool } from '../../../prisma/generated/client/client.ts';
import { type Principal, principalId } from '../../core/auth/principal.ts';
import type { SecretBox } from '../../core/auth/secret-box.ts';
import type { PrismaClient } from '../../core/db.ts';
import { DomainError } from '../../core/errors.ts';
import type { AppPubSub } from '../../core/pubsub.ts';
import { type RuntimeService, terminalStatuses } from '../runtime/runtime.service.ts';
import type { ActivityLog } from './activity.ts';
import {
  GoClawConflictError,
  GoClawInvalidInputError,
  GoClawNotFoundError,
  GoClawToolRunError,
} from './agent-tools.errors.ts';
import { type BuiltinToolDefinition, builtinToolNames, builtinTools } from './builtin-tools.ts';
import { checkParameterSchema, type ParameterSchema, validateArguments } from './json-schema.ts';
import { requireRole } from './roles.ts';
import { mergeMap, openMap, sealMap, stringMap } from './secrets.ts';
import { agentRef, intIn, isUuid, jsonObject, slug, text } from './validate.ts';

export interface CustomToolInput {
  name?: string | null;
  description?: string | null;
  parameters?: unknown;
  command?: string | null;
  timeoutSeconds?: number | null;
  env?: unknown;
  agentId?: string | null;
  enabled?: boolean | null;
}

export interface CustomToolFilter {
  agentId?: string | null;
  search?: string | null;
  take: number;
  offset: number;
}

/** A run's outcome: the body's value as JSON. */
export interface CustomToolRun {
  executionId: string;
  result: unknown;
}

/** One sandboxed JavaScript execution (`ToolService.runInSandbox`). */
export interface SandboxRun {
  /** Names the caller in error messages (`run_js`, `custom tool "x"`). */
  label: string;
  code: string;
  timeoutSecs: number;
  /** The heap cap in MiB; the runtime's default when absent or null. */
  heapMb?: number | null;
  /** Aborting it cancels the execution. */
  signal?: AbortSignal;
  /** How much console output to return (bytes); none when absent. */
  outputBytes?: number;
}

/** The terminal state of a sandboxed execution. */
export interface SandboxOutcome {
  executionId: string;
  /** completed | failed | cancelled | timed_out */
  status: string;
  /** The value as JSON text (completed runs), else null. */
  result: string | null;
  error: string | null;
  output: string;
  outputTruncated: boolean;
}

/** A built-in tool with its stored settings applied. */
export interface BuiltinTool extends BuiltinToolDefinition {
  enabled: boolean;
  settings: Record<string, unknown>;
  updatedAt: Date | null;
}

interface Deps {
  prisma: PrismaClient;
  box: SecretBox;
  pubsub: AppPubSub;
  runtime: RuntimeService;
  activity: ActivityLog;
}

const maxBodyChars = 100_000;
const maxRunSeconds = 300;

/**
 * One read shared by every caller within `ttlMs` (a run's tool sources, and the runs starting together): the rows
 * a run's tool set needs are read before its first model call, on the response path. `invalidate` after a write
 * on this instance makes it seen at once; another instance sees it within `ttlMs`. A failed read is not kept.
 */
class SharedRead<T> {
  private current: { at: number; value: Promise<T> } | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    const now = Date.now();
    if (!this.current || now - this.current.at > this.ttlMs) {
      const entry = { at: now, value: this.load() };
      this.current = entry;
      entry.value.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current.value;
  }

  invalidate(): void {
    this.current = undefined;
  }
}

/** How long one read of the built-in settings or the enabled custom tools serves the runs that start. */
const sharedReadMs = 250;

/** Custom tools (JavaScript bodies run in the mcp-v8 sandbox) and the built-in tools' settings. */
export class ToolService {
  /** The enabled custom tools (newest first, at most 500). */
  private readonly enabledCustom = new SharedRead(sharedReadMs, () =>
    this.deps.prisma.goClawCustomTool.findMany({
      where: { enabled: true },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 500,
    }),
  );
  /** Every stored built-in tool setting by name (run_js, exec and the memory tools each ask for theirs). */
  private readonly builtinSettings = new SharedRead(sharedReadMs, () =>
    this.deps.prisma.goClawBuiltinToolSetting
      .findMany()
      .then((stored) => new Map<string, GoClawBuiltinToolSetting>(stored.map((r) => [r.name, r]))),
  );

  constructor(private readonly deps: Deps) {}

  async createCustom(principal: Principal, input: CustomToolInput): Promise<GoClawCustomTool> {
    requireRole(principal, 'operator');
    if (!input.name) throw new GoClawInvalidInputError('name is required');
    if (!input.command) throw new GoClawInvalidInputError('command (the JavaScript body) is required');
    const name = slug('name', input.name);
    await this.ensureNameFree(name);
    const command = await checkBody(input.command);
    const row = await this.deps.prisma.goClawCustomTool.create({
      data: {
        name,
        description: text('description', input.description, 2000) ?? '',
        parameters: checkParameterSchema(input.parameters ?? { type: 'object', properties: {} }) as object,
        command,
        timeoutSeconds: intIn('timeout_seconds', input.timeoutSeconds ?? 60, 1, maxRunSeconds),
        envEnc:
          input.env === undefined || input.env === null ? null : sealMap(this.deps.box, stringMap('env', input.env)),
        agentId: agentRef('agent_id', input.agentId) ?? null,
        enabled: input.enabled ?? true,
        createdBy: principalId(principal),
      },
    });
    this.enabledCustom.invalidate();
    await this.deps.activity.record(principal, {
      action: 'custom_tool.create',
      entityType: 'custom_tool',
      entityId: row.id,
    });
    return row;
  }

  async updateCustom(principal: Principal, id: string, input: CustomToolInput): Promise<GoClawCustomTool> {
    requireRole(principal, 'operator');
    const row = await this.findCustom(id);
    const name = input.name ? slug('name', input.name) : row.name;
    if (name !== row.name) await this.ensureNameFree(name);
    const envEnc = mergeMap(this.deps.box, 'env', row.envEnc, input.env);
    const updated = await this.deps.prisma.goClawCustomTool.update({
      where: { id: row.id },
      data: {
        name,
        ...(input.description !== undefined && input.description !== null
          ? { description: text('description', input.description, 2000) ?? '' }
          : {}),
        ...(input.parameters !== undefined && input.parameters !== null
          ? { parameters: checkParameterSchema(input.parameters) as object }
          : {}),
        ...(input.command ? { command: await checkBody(input.command) } : {}),
        ...(input.timeoutSeconds !== undefined && input.timeoutSeconds !== null
          ? { timeoutSeconds: intIn('timeout_seconds', input.timeoutSeconds, 1, maxRunSeconds) }
          : {}),
        ...(envEnc !== undefined ? { envEnc } : {}),
        ...(input.agentId !== undefined ? { agentId: agentRef('agent_id', input.agentId) ?? null } : {}),
        ...(input.enabled !== undefined && input.enabled !== null ? { enabled: input.enabled } : {}),
      },
    });
    this.enabledCustom.invalidate();
    await this.deps.activity.record(principal, {
      action: 'custom_tool.update',
      entityType: 'custom_tool',
      entityId: row.id,
    });
    return updated;
  }

  async deleteCustom(principal: Principal, id: string): Promise<{ id: string }> {
    requireRole(principal, 'operator');
    const row = await this.findCustom(id);
    await this.deps.prisma.goClawCustomTool.delete({ where: { id: row.id } });
    this.enabledCustom.invalidate();
    await this.deps.activity.record(principal, {
      action: 'custom_tool.delete',
      entityType: 'custom_tool',
      entityId: row.id,
    });
    return { id: row.id };
  }

  /**
   * The enabled custom tools a run of `agentId` is offered (global ones and that agent's, newest first, at most
   * 500), from the read the runs starting within a quarter second share.
   */
  async runnableCustom(principal: Principal, agentId: string | null): Promise<GoClawCustomTool[]> {
    requireRole(principal, 'viewer');
    return (await this.enabledCustom.get()).filter((t) => t.agentId === null || t.agentId === agentId);
  }

  /** A page of custom tools, newest first (`agent_id` also matches global tools? no: exactly that agent's). */
  async listCustom(
    principal: Principal,
    filter: CustomToolFilter,
  ): Promise<{ items: GoClawCustomTool[]; totalCount: number }> {
    requireRole(principal, 'viewer');
    const search = text('search', filter.search, 200);
    const where = {
      ...(filter.agentId ? { agentId: agentRef('agent_id', filter.agentId) } : {}),
      ...(search
        ? {
            OR: [
              { name: { contains: search, mode: 'insensitive' as const } },
              { description: { contains: search, mode: 'insensitive' as const } },
            ],
          }
        : {}),
    };
    const [items, totalCount] = await Promise.all([
      this.deps.prisma.goClawCustomTool.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: filter.take,
        skip: filter.offset,
      }),
      this.deps.prisma.goClawCustomTool.count({ where }),
    ]);
    return { items, totalCount };
  }

  /**
   * Runs a custom tool with arguments (the agent loop's entry point): the arguments are checked against the
   * tool's parameters, then its body runs in the mcp-v8 sandbox as `async (args, env) => { body }` under the
   * caller's runtime tenant, with the tool's timeout. Resolves with the body's value; a throw, a timeout or a
   * non-JSON value is a GoClawToolRunError.
   */
  async runCustomTool(
    principal: Principal,
    input: { id: string; args: unknown; signal?: AbortSignal },
  ): Promise<CustomToolRun> {
    requireRole(principal, 'operator');
    const tool = await this.findCustom(input.id);
    if (!tool.enabled) throw new GoClawToolRunError(`custom tool "${tool.name}" is disabled`);
    const args = input.args ?? {};
    const problems = validateArguments(tool.parameters as ParameterSchema, args);
    if (problems.length > 0)
      throw new GoClawToolRunError(`arguments do not match the parameters: ${problems.join('; ')}`);
    const env = openMap(this.deps.box, tool.envEnc);
    const code = `(async (args, env) => {\n${tool.command}\n})(${JSON.stringify(args)}, ${JSON.stringify(env)})`;
    return this.sandboxValue(principal, `custom tool "${tool.name}"`, code, tool.timeoutSeconds, null, input.signal);
  }

  /**
   * The built-in `run_js` tool: the platform's own JavaScript executor offered to agents. Runs `code` as an mcp-v8
   * script (its final value, awaited, is the result; with top-level `await`, its default export) with the tool's settings (`timeout_seconds`,
   * `heap_memory_max_mb`); refused while an operator has it disabled.
   */
  async runJs(principal: Principal, input: { code: string }): Promise<CustomToolRun> {
    requireRole(principal, 'operator');
    const tool = await this.getBuiltin(principal, 'run_js');
    if (!tool.enabled) throw new GoClawToolRunError('the built-in tool "run_js" is disabled');
    if (typeof input.code !== 'string' || input.code.trim() === '') throw new GoClawToolRunError('code is required');
    const setting = (key: string, fallback: number) => {
      const v = tool.settings[key];
      return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fallback;
    };
    return this.sandboxValue(
      principal,
      'run_js',
      input.code,
      Math.min(setting('timeout_seconds', 30), maxRunSeconds),
      setting('heap_memory_max_mb', 64),
    );
  }

  /**
   * The one way GoClaw runs JavaScript: submits `code` to the mcp-v8 runtime as the caller (its worker pool, limits
   * and isolation) and waits for the terminal status — on a status event, or a periodic re-read in case the event
   * was published before the subscription. Aborting `signal` cancels the execution. Resolves with the terminal
   * status, the result (JSON text, as the runtime stores it), the error and up to `outputBytes` of console output
   * (none unless asked). The sandbox's own refusals (busy tenant, code that does not parse, limits) are a
   * GoClawToolRunError; so is an execution that does not end within its timeout plus 30 s.
   */
  async runInSandbox(principal: Principal, input: SandboxRun): Promise<SandboxOutcome> {
    const { runtime, pubsub } = this.deps;
    const { label, code, timeoutSecs, heapMb, signal } = input;
    if (signal?.aborted) throw new GoClawToolRunError(`${label}: aborted`);
    let submitted: Awaited<ReturnType<RuntimeService['submit']>>;
    try {
      submitted = await runtime.submit(principal, {
        code,
        executionTimeoutSecs: timeoutSecs,
        ...(heapMb ? { heapMemoryMaxMb: heapMb } : {}),
      });
    } catch (err) {
      if (err instanceof DomainError) throw new GoClawToolRunError(`${label}: ${err.message}`);
      throw err;
    }
    let row = submitted;
    if (!terminalStatuses.has(row.status)) {
      const events = pubsub.subscribe('runtime.executionStatusChanged', submitted.id)[Symbol.asyncIterator]();
      const deadline = Date.now() + (timeoutSecs + 30) * 1000;
      let wake: (() => void) | undefined;
      const cancel = () => {
        void runtime.cancel(principal, submitted.id).catch(() => {});
        wake?.();
      };
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        for (;;) {
          const current = await runtime.get(principal, submitted.id);
          if (!current) throw new GoClawToolRunError(`${label}: execution ${submitted.id} disappeared`);
          row = current;
          if (terminalStatuses.has(row.status)) break;
          if (Date.now() > deadline) throw new GoClawToolRunError(`${label}: the run did not finish in time`);
          await Promise.race([
            events.next(),
            new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 500).unref();
            }),
          ]);
        }
      } finally {
        signal?.removeEventListener('abort', cancel);
        await events.return?.();
      }
    }
    let output = '';
    let outputTruncated = false;
    if (input.outputBytes && input.outputBytes > 0) {
      const { page } = await runtime.output(principal, { id: row.id, byteLimit: input.outputBytes });
      output = page.data;
      outputTruncated = page.hasMore;
    }
    return {
      executionId: row.id,
      status: row.status,
      result: row.result ?? null,
      error: row.error ?? null,
      output,
      outputTruncated,
    };
  }

  /** `runInSandbox` for the tools whose only answer is their value: anything but `completed` is an error. */
  private async sandboxValue(
    principal: Principal,
    label: string,
    code: string,
    timeoutSecs: number,
    heapMb: number | null,
    signal?: AbortSignal,
  ): Promise<CustomToolRun> {
    const row = await this.runInSandbox(principal, { label, code, timeoutSecs, heapMb, ...(signal ? { signal } : {}) });
    if (row.status !== 'completed') {
      throw new GoClawToolRunError(`${label} ${row.status.replace('_', ' ')}: ${row.error ?? 'no detail'}`);
    }
    return { executionId: row.executionId, result: row.result === null ? null : (JSON.parse(row.result) as unknown) };
  }

  builtin(): BuiltinToolDefinition[] {
    return [...builtinTools];
  }

  async listBuiltin(principal: Principal): Promise<BuiltinTool[]> {
    requireRole(principal, 'viewer');
    const byName = await this.builtinSettings.get();
    return builtinTools.map((t) => withSettings(t, byName.get(t.name)));
  }

  async getBuiltin(principal: Principal, name: string): Promise<BuiltinTool> {
    requireRole(principal, 'viewer');
    const def = builtinTools.find((t) => t.name === name);
    if (!def) throw new GoClawNotFoundError('Built-in tool', name);
    return withSettings(def, (await this.builtinSettings.get()).get(name));
  }

  /** Changes a built-in tool's `enabled` and/or `settings` (settings replace the stored ones). */
  async updateBuiltin(
    principal: Principal,
    name: string,
    input: { enabled?: boolean | null; settings?: unknown },
  ): Promise<BuiltinTool> {
    requireRole(principal, 'operator');
    const current = await this.getBuiltin(principal, name);
    const enabled = input.enabled ?? current.enabled;
    const settings =
      input.settings === undefined || input.settings === null
        ? current.settings
        : jsonObject('settings', input.settings);
    await this.deps.prisma.goClawBuiltinToolSetting.upsert({
      where: { name },
      create: { name, enabled, settings: settings as object, updatedBy: principalId(principal) },
      update: { enabled, settings: settings as object, updatedBy: principalId(principal) },
    });
    this.builtinSettings.invalidate();
    await this.deps.activity.record(principal, {
      action: 'builtin_tool.update',
      entityType: 'builtin_tool',
      entityId: name,
    });
    return this.getBuiltin(principal, name);
  }

  private async findCustom(id: string): Promise<GoClawCustomTool> {
    const row = isUuid(id) ? await this.deps.prisma.goClawCustomTool.findUnique({ where: { id } }) : null;
    if (!row) throw new GoClawNotFoundError('Custom tool', id);
    return row;
  }

  private async ensureNameFree(name: string): Promise<void> {
    if (builtinToolNames.has(name)) throw new GoClawConflictError(`"${name}" is the name of a built-in tool`);
    if (await this.deps.prisma.goClawCustomTool.findUnique({ where: { name } })) {
      throw new GoClawConflictError(`A custom tool named "${name}" already exists`);
    }
  }
}

function withSettings(
  def: BuiltinToolDefinition,
  stored: { enabled: boolean; settings: unknown; updatedAt: Date } | undefined,
): BuiltinTool {
  return {
    ...def,
    enabled: stored?.enabled ?? def.enabledByDefault,
    settings: (stored?.settings as Record<string, unknown> | undefined) ?? def.defaultSettings,
    updatedAt: stored?.updatedAt ?? null,
  };
}

/** The body must be JavaScript that parses as the inside of an async function (checked, never run here). */
async function checkBody(body: string): Promise<string> {
  if (body.length > maxBodyChars) throw new GoClawInvalidInputError(`command: at most ${maxBodyChars} characters`);
  if (body.includes('\0')) throw new GoClawInvalidInputError('command must not contain U+0000');
  try {
    await transform(`(async (args, env) => {\n${body}\n})`, { loader: 'js', logLevel: 'silent' });
  } catch (err) {
    const first = (err as { errors?: { text: string }[] }).errors?.[0]?.text ?? 'does not parse';
    throw new GoClawInvalidInputError(`command is not valid JavaScript: ${first}`);
  }
  return body;
}
