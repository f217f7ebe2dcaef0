import { type Config, parseConfig } from './core/config.ts';
import { modules } from './modules/registry.ts';

/** Reads and validates the configuration of core and every module; throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return parseConfig(env, modules);
}
