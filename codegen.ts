import type { CodegenConfig } from '@graphql-codegen/cli';

// REST-shim documents are typed against the committed SDL, so `npm ci` can generate types
// without loading the server code.
const typed = {
  plugins: ['typescript-operations', 'typed-document-node'],
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
    scalars: { DateTime: 'string', JSON: 'unknown', BigInt: 'string', ID: 'string' },
    strictScalars: true,
  },
};

// Tests type their GraphQL documents the same way: `test/<product>/*.graphql` → `test/generated/<product>.ts`
// (one output per product, so products' documents never collide).
const testProducts = ['platform', 'deepstore', 'polykomos', 'goclaw', 'mcp-v8', 'athena'];

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  ignoreNoDocuments: true,
  generates: {
    'rest-shim/generated/graphql.ts': { documents: ['rest-shim/**/*.graphql'], ...typed },
    ...Object.fromEntries(
      testProducts.map((p) => [`test/generated/${p}.ts`, { documents: [`test/${p}/**/*.graphql`], ...typed }]),
    ),
  },
};

export default config;
