import type { CredentialVerifier } from './auth/authenticator.ts';
import type { EnvReader } from './config.ts';
import type { JobKind } from './jobs/runner.ts';
import type { CoreServices } from './services.ts';

/**
 * The services of every module, by module name. Empty here: each module adds its own entry from its `module.ts`
 * (declaration merging), so core names no module, not even as a type:
 *
 *   declare module '../../core/module.ts' {
 *     interface ModuleServices { runtime: RuntimeService }
 *   }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in each module
export interface ModuleServices {}

export type ModuleName = keyof ModuleServices & string;

/** What a module's `create` receives. */
export interface ModuleContext<C> {
  core: CoreServices;
  /** This module's parsed configuration (from its `config`). */
  config: C;
  /**
   * The services of the modules named in `needs`, already created. Reading any other module throws: a dependency
   * that is not declared would break the start-up and shutdown order.
   */
  modules: ModuleServices;
}

/**
 * Everything the application needs to know about a module, in one place. The registry
 * (`src/modules/registry.ts`) lists these in dependency order; start-up and shutdown loop over it.
 */
export interface ModuleDefinition<N extends ModuleName = ModuleName, C = unknown> {
  name: N;
  /** One line: what the module is for (docs, start-up errors). */
  description: string;
  /** Modules this one is created after (and closed before). Each must come earlier in the registry. */
  needs?: readonly ModuleName[];
  /** Parses and validates this module's environment; records problems on `env` instead of throwing. */
  config?(env: EnvReader): C;
  /** Builds the module's one public service. */
  create(ctx: ModuleContext<C>): ModuleServices[N] | Promise<ModuleServices[N]>;
  /** Starts background work (loops, subscriptions) once every module exists. */
  start?(service: ModuleServices[N]): void | Promise<void>;
  /** Stops background work and releases resources; called in reverse registry order. */
  close?(service: ModuleServices[N]): Promise<void>;
  /** Registers the module's GraphQL types and fields on the builder (usually `() => import('./graphql/index.ts')`). */
  graphql?(): Promise<unknown>;
  /** Pubsub topics the module publishes, each `<module>.<event>` (their payload types are declared on `TopicMap`). */
  topics?: readonly string[];
  /** Durable job kinds the module's service runs, each `<module>.<verb>` (defined on the runner before it starts). */
  jobs?(service: ModuleServices[N]): readonly JobKind<any, any>[];
  /** Credential kinds the module resolves (API keys, service tokens), tried after the admin key and JWTs. */
  credentials?(service: ModuleServices[N]): readonly CredentialVerifier[];
}

/** The registry's element type: a definition whatever its name and configuration. */
export type AnyModule = ModuleDefinition<any, any>;

/** Declares a module; the identity function that gives `create` and `config` their types. */
export function defineModule<N extends ModuleName, C = undefined>(
  definition: ModuleDefinition<N, C>,
): ModuleDefinition<N, C> {
  return definition;
}

/**
 * Checks a registry once, at start: unique names, dependencies declared earlier, topic and job names under the
 * module's own prefix, no topic or job kind claimed twice. Throws listing every problem.
 */
export function checkRegistry(modules: readonly AnyModule[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  const topics = new Map<string, string>();
  for (const m of modules) {
    if (!/^[a-z][a-z0-9]*$/.test(m.name))
      problems.push(`module name "${m.name}" must be lower-case letters and digits`);
    if (seen.has(m.name)) problems.push(`module "${m.name}" is listed twice`);
    for (const need of m.needs ?? []) {
      if (!seen.has(need)) problems.push(`module "${m.name}" needs "${need}", which is not listed before it`);
    }
    seen.add(m.name);
    for (const topic of m.topics ?? []) {
      if (!topic.startsWith(`${m.name}.`))
        problems.push(`topic "${topic}" of module "${m.name}" must start "${m.name}."`);
      const owner = topics.get(topic);
      if (owner) problems.push(`topic "${topic}" is declared by "${owner}" and "${m.name}"`);
      topics.set(topic, m.name);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid module registry:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/**
 * The `modules` view a module's `create` gets: only its declared dependencies, read-only. Reading another module
 * throws, so an undeclared dependency fails at start-up, not in production traffic.
 */
export function dependencyView(module: AnyModule, created: Partial<ModuleServices>): ModuleServices {
  const allowed = new Set<string>(module.needs ?? []);
  return new Proxy(created, {
    get(target, prop) {
      if (typeof prop !== 'string') return undefined;
      if (!allowed.has(prop)) {
        throw new Error(`module "${module.name}" reads module "${prop}" without declaring it in needs`);
      }
      return (target as Record<string, unknown>)[prop];
    },
    set() {
      throw new Error('the modules view is read-only');
    },
  }) as ModuleServices;
}
