import { AnthropicAdapter } from './anthropic.ts';
import { GeminiAdapter } from './gemini.ts';
import type { LlmHttp } from './http.ts';
import { OpenAiAdapter } from './openai.ts';
import type { LlmAdapter } from './types.ts';

/** The contract's `ProviderInput.provider_type` values. */
export const providerTypes = [
  'anthropic_native',
  'openai_compat',
  'gemini_native',
  'groq',
  'deepseek',
  'mistral',
  'xai',
  'ollama',
] as const;
export type ProviderType = (typeof providerTypes)[number];

/** Each type's public base URL, used when a provider has no `api_base`. */
export const defaultApiBase: Record<ProviderType, string> = {
  anthropic_native: 'https://api.anthropic.com/v1',
  openai_compat: 'https://api.openai.com/v1',
  gemini_native: 'https://generativelanguage.googleapis.com/v1beta',
  groq: 'https://api.groq.com/openai/v1',
  deepseek: 'https://api.deepseek.com/v1',
  mistral: 'https://api.mistral.ai/v1',
  xai: 'https://api.x.ai/v1',
  ollama: 'http://localhost:11434/v1',
};

/** The adapter speaking a provider type's wire format against `base` (trailing slashes dropped). */
export function adapterFor(type: ProviderType, http: LlmHttp, base: string, apiKey: string | undefined): LlmAdapter {
  const root = (base || defaultApiBase[type]).replace(/\/+$/, '');
  if (type === 'anthropic_native') return new AnthropicAdapter(http, root, apiKey);
  if (type === 'gemini_native') return new GeminiAdapter(http, root, apiKey);
  return new OpenAiAdapter(http, root, apiKey);
}

export type { LlmAdapter } from './types.ts';
