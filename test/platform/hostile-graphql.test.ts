import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';
import { startTestApp, type TestApp } from '../kit/app.ts';

/**
 * The GraphQL hostile sweep: every mutation and every root query with arguments (read from the schema, so fields
 * added later are covered without edits) is called with U+0000 in every string, integers beyond Int, negative
 * and fractional numbers and huge floats, as the admin (the deepest reach) and anonymously. No answer may be a 5xx
 * or carry INTERNAL_SERVER_ERROR.
 */

type Leaf = 'string' | 'int' | 'float' | 'boolean' | 'other';
interface Values {
  string: unknown;
  int: unknown;
  float: unknown;
}

const variantsOf: Record<string, Values> = {
  'NUL strings': { string: 'bad\u0000value', int: 1, float: 1 },
  'only NUL': { string: '\u0000', int: 1, float: 1 },
  'Int beyond range': { string: 'probe', int: 2147483648, float: 1 },
  'huge integers': { string: 'probe', int: 1e20, float: 1e308 },
  negative: { string: 'probe', int: -1, float: -1 },
  'most negative': { string: 'probe', int: -2147483648, float: -1e308 },
  fractional: { string: 'probe', int: 1.5, float: 0.5 },
};

function leafOf(type: GraphQLInputType): Leaf {
  const named = getNamedType(type);
  if (!isScalarType(named)) return 'other';
  switch (named.name) {
    case 'String':
    case 'ID':
    case 'DateTime':
      return 'string';
    case 'Int':
      return 'int';
    case 'Float':
      return 'float';
    case 'Boolean':
      return 'boolean';
    default:
      return 'other';
  }
}

/** A value of `type` with every leaf from `values`; nested input objects filled to a bounded depth. */
function valueFor(type: GraphQLInputType, values: Values, depth = 0): unknown {
  if (isNonNullType(type)) return valueFor(type.ofType, values, depth);
  if (isListType(type)) return [valueFor(type.ofType, values, depth + 1)];
  if (isEnumType(type)) return type.getValues()[0]?.value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    if (depth > 4) return out;
    for (const field of Object.values(type.getFields())) {
      // oneOf inputs take exactly one field.
      if (type.isOneOf && Object.keys(out).length > 0) break;
      out[field.name] = valueFor(field.type, values, depth + 1);
    }
    return out;
  }
  const named = getNamedType(type);
  switch (leafOf(type)) {
    case 'string':
      return named.name === 'DateTime' ? '2026-01-01T00:00:00Z' : values.string;
    case 'int':
      return values.int;
    case 'float':
      return values.float;
    case 'boolean':
      return true;
    default:
      if (named.name === 'JSON') return { key: values.string, n: values.int };
      if (named.name === 'BigInt') return String(values.int);
      return values.string;
  }
}

// Strings on purpose: one probe per schema field, built from the schema, each sent with hostile variables.
function documentFor(kind: 'mutation' | 'query', field: GraphQLField<unknown, unknown>): string {
  const decl = field.args.map((a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`).join(', ');
  const pass = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${kind} Probe${decl ? `(${decl})` : ''} { ${field.name}${pass ? `(${pass})` : ''} { __typename } }`;
}

function returnsObject(field: GraphQLField<unknown, unknown>): boolean {
  const named = getNamedType(field.type);
  return !isScalarType(named) && !isEnumType(named);
}

let t: TestApp;
const totals = { requests: 0, s2xx: 0, s4xx: 0, s5xx: 0, internal: 0 };

beforeAll(async () => {
  t = await startTestApp();
}, 60_000);

afterAll(async () => {
  console.log(
    `hostile GraphQL sweep: ${totals.requests} requests, ${totals.s2xx} 2xx, ${totals.s4xx} 4xx, ${totals.s5xx} 5xx, ${totals.internal} INTERNAL_SERVER_ERROR`,
  );
  await t?.close();
});

async function post(query: string, variables: unknown, token?: string) {
  const res = await fetch(`${t.baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, text: await res.text() };
}

describe('hostile GraphQL sweep', () => {
  const roots = [
    ['mutation', schema.getMutationType()],
    ['query', schema.getQueryType()],
  ] as const;
  for (const [kind, root] of roots) {
    it(`every ${kind} field with arguments: no 5xx, no INTERNAL_SERVER_ERROR`, async () => {
      const fields = Object.values(root?.getFields() ?? {}).filter((f) => f.args.length > 0);
      expect(fields.length).toBeGreaterThan(0);
      const problems: string[] = [];
      for (const field of fields) {
        const query = returnsObject(field)
          ? documentFor(kind, field)
          : documentFor(kind, field).replace(' { __typename } }', ' }');
        for (const [label, values] of Object.entries(variantsOf)) {
          const variables = Object.fromEntries(field.args.map((a) => [a.name, valueFor(a.type, values)]));
          for (const token of [t.adminKey, undefined]) {
            const r = await post(query, variables, token);
            totals.requests++;
            const where = `${kind} ${field.name} [${label}${token ? '' : ', anonymous'}] → ${r.status}`;
            if (r.status >= 500) {
              totals.s5xx++;
              problems.push(`${where}: ${r.text.slice(0, 200)}`);
              continue;
            }
            if (r.status >= 400) totals.s4xx++;
            else totals.s2xx++;
            if (r.text.includes('INTERNAL_SERVER_ERROR') || r.text.includes('Unexpected error')) {
              totals.internal++;
              problems.push(`${where}: ${r.text.slice(0, 300)}`);
            }
            if (/node_modules|\/work\/|\.ts:\d+|prisma\.|invocation/i.test(r.text)) {
              problems.push(`${where}: leaks internals: ${r.text.slice(0, 300)}`);
            }
          }
        }
      }
      expect(problems.slice(0, 40), `${problems.length} problems`).toEqual([]);
    }, 600_000);
  }

  it('a string literal with U+0000 is refused at input coercion with a clear error', async () => {
    // A string on purpose: the NUL must reach the server inside the document's own literal.
    const r = await post(
      'mutation { createApiKey(input: {product: goclaw, name: "a\\u0000b", scopes: []}) { __typename } }',
      {},
      t.adminKey,
    );
    expect(r.status).toBe(400);
    expect(r.text).toContain('must not contain U+0000');
    expect(r.text).toContain('BAD_USER_INPUT');
  });
});
