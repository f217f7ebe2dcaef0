import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { EnvReader } from '../config.ts';

/** How GraphQL protects itself from expensive or probing documents (ATRIUM_GRAPHQL_*; README). */
export interface GraphQLProtectionConfig {
  /** Deepest selection nesting (fragments flattened). */
  maxDepth: number;
  /** Aliases per operation. */
  maxAliases: number;
  /** Lexer tokens per document; enforced while parsing, so deep nesting never reaches the parser's recursion. */
  maxTokens: number;
  /** Directives per operation. */
  maxDirectives: number;
  /** GraphQL Armor's static cost budget per operation (objects 2, scalars 1, ×1.5 per level). */
  maxCost: number;
  /** Whether `__schema`/`__type` introspection is served (off by default in production). */
  introspection: boolean;
  /** Whether validation errors suggest field names ("Did you mean …?"; off by default in production). */
  suggestions: boolean;
  /** A JSON file `{ "<sha256 hex>": "<document>" }` of trusted documents, or undefined. */
  trustedDocumentsFile: string | undefined;
  /** Only trusted documents run (over HTTP and graphql-ws); requires `trustedDocumentsFile`. */
  trustedDocumentsOnly: boolean;
}

export function parseGraphQLProtectionConfig(read: EnvReader, production: boolean): GraphQLProtectionConfig {
  const config: GraphQLProtectionConfig = {
    maxDepth: read.int('ATRIUM_GRAPHQL_MAX_DEPTH', 15, 1, 1000),
    maxAliases: read.int('ATRIUM_GRAPHQL_MAX_ALIASES', 30, 0, 100_000),
    maxTokens: read.int('ATRIUM_GRAPHQL_MAX_TOKENS', 5000, 100, 1_000_000),
    maxDirectives: read.int('ATRIUM_GRAPHQL_MAX_DIRECTIVES', 50, 0, 100_000),
    maxCost: read.int('ATRIUM_GRAPHQL_MAX_COST', 5000, 1, 100_000_000),
    introspection: read.bool('ATRIUM_GRAPHQL_INTROSPECTION', !production),
    suggestions: read.bool('ATRIUM_GRAPHQL_SUGGESTIONS', !production),
    trustedDocumentsFile: read.str('ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS'),
    trustedDocumentsOnly: read.bool('ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS_ONLY', false),
  };
  if (config.trustedDocumentsOnly && !config.trustedDocumentsFile) {
    read.problem('ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS_ONLY needs ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS (the documents file)');
  }
  if (config.trustedDocumentsFile) {
    try {
      loadTrustedDocuments(config.trustedDocumentsFile);
    } catch (e) {
      read.problem(`ATRIUM_GRAPHQL_TRUSTED_DOCUMENTS: ${(e as Error).message}`);
    }
  }
  return config;
}

/** Trusted documents by sha256 (hex of the document text); each key must be the hash of its document. */
export function loadTrustedDocuments(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file} as JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${file} must be a JSON object of "<sha256>": "<document>"`);
  }
  const documents = new Map<string, string>();
  for (const [hash, document] of Object.entries(parsed)) {
    if (typeof document !== 'string') throw new Error(`${file}: the document for ${hash} is not a string`);
    if (documentHash(document) !== hash.toLowerCase())
      throw new Error(`${file}: ${hash} is not the sha256 of its document`);
    documents.set(hash.toLowerCase(), document);
  }
  return documents;
}

/** The sha256 (hex) a trusted document is filed under; what clients send as `extensions.persistedQuery.sha256Hash`. */
export function documentHash(document: string): string {
  return createHash('sha256').update(document).digest('hex');
}

/** The trusted-document store the HTTP plugin and the graphql-ws path share. */
export interface TrustedDocuments {
  only: boolean;
  get(hash: string): string | undefined;
}

export function trustedDocumentsFor(config: GraphQLProtectionConfig): TrustedDocuments | undefined {
  if (!config.trustedDocumentsFile) return undefined;
  const documents = loadTrustedDocuments(config.trustedDocumentsFile);
  return { only: config.trustedDocumentsOnly, get: (hash) => documents.get(hash.toLowerCase()) };
}

/**
 * Armor's validation rules throw a "Syntax Error" by default, which yoga answers with HTTP 200; reported into the
 * validation context instead, a refusal is an ordinary validation error (400, every limit broken listed).
 */
const report = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [
    (ctx: ValidationContext | null, error: GraphQLError) =>
      ctx?.reportError(
        new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      ),
  ],
};

const rejection = { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } };

/**
 * The envelop plugins that bound what one document may cost: GraphQL Armor's depth, alias, token, directive and
 * cost limits (validation rules, and the token limit inside the parser), introspection and suggestions switches,
 * and trusted documents (yoga's persisted-operations plugin, by sha256 hash). The REST shim executes its
 * pre-validated documents directly and is not subject to them.
 */
export function protectionPlugins(config: GraphQLProtectionConfig, trusted: TrustedDocuments | undefined): Plugin[] {
  const plugins: Plugin[] = [
    nestingLimitPlugin(maxNesting),
    EnvelopArmorPlugin({
      maxDepth: { n: config.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...report },
      maxAliases: { n: config.maxAliases, allowList: [], ...report },
      // The token limit runs inside the parser (no validation context): its syntax error is already a 400.
      maxTokens: { n: config.maxTokens, exposeLimits: true },
      maxDirectives: { n: config.maxDirectives, ...report },
      costLimit: { maxCost: config.maxCost, ignoreIntrospection: true, ...report },
      blockFieldSuggestion: { enabled: !config.suggestions },
    }) as Plugin,
  ];
  if (!config.introspection) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    });
  }
  if (trusted) {
    plugins.push(
      usePersistedOperations({
        getPersistedOperation: (key) => trusted.get(key) ?? null,
        allowArbitraryOperations: !trusted.only,
        customErrors: {
          notFound: { message: 'Unknown trusted document', ...rejection },
          persistedQueryOnly: { message: 'Only trusted documents are accepted here', ...rejection },
        },
      }) as Plugin,
    );
  }
  return plugins;
}

/**
 * The query text a graphql-ws subscribe message runs: its trusted document when it names one by hash
 * (`extensions.persistedQuery.sha256Hash`), its own text unless only trusted documents are allowed; else an error.
 */
export function trustedQuery(
  trusted: TrustedDocuments | undefined,
  payload: { query?: unknown; extensions?: unknown },
): string | GraphQLError {
  const hash = (payload.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery
    ?.sha256Hash;
  if (trusted && typeof hash === 'string') {
    return trusted.get(hash) ?? new GraphQLError('Unknown trusted document', rejection);
  }
  if (trusted?.only) return new GraphQLError('Only trusted documents are accepted here', rejection);
  return typeof payload.query === 'string' ? payload.query : new GraphQLError('Missing query', rejection);
}

/** Bracket nesting a document may have before it is parsed (the parser recurses per level; validation bounds depth). */
export const maxNesting = 256;

/**
 * Whether a GraphQL source nests `{`, `[` or `(` deeper than `max`, ignoring strings, block strings and comments.
 * One linear scan, so a list literal nested 10,000 deep is refused before graphql-js' recursive parser could
 * overflow the stack on it (the token limit alone comes too late: each level is one token but several frames).
 */
export function nestingExceeds(source: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 35 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 10 && source.charCodeAt(i) !== 13) i++;
    } else if (c === 34 /* " */) {
      if (source.startsWith('"""', i)) {
        i += 3;
        while (i < source.length && !source.startsWith('"""', i)) i += source.startsWith('\\"""', i) ? 4 : 1;
        i += 2;
      } else {
        i++;
        while (i < source.length && source.charCodeAt(i) !== 34 && source.charCodeAt(i) !== 10) {
          if (source.charCodeAt(i) === 92 /* \\ */) i++;
          i++;
        }
      }
    } else if (c === 123 || c === 91 || c === 40) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93 || c === 41) {
      depth--;
    }
  }
  return false;
}

function nestingLimitPlugin(max: number): Plugin {
  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (nestingExceeds(source, max)) {
        throw new GraphQLError(`Syntax Error: the document nests deeper than ${max} levels`, rejection);
      }
    },
  };
}
