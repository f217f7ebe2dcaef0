import type { CodegenConfig } from '@graphql-codegen/cli';

// REST-shim documents are typed against the committed SDL, so `npm ci` can generate types
// without loading the server code.
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['rest-shim/**/*.graphql'],
  generates: {
    'rest-shim/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        scalars: { DateTime: 'string', JSON: 'unknown', BigInt: 'string', ID: 'string' },
        strictScalars: true,
      },
    },
  },
};

export default config;
