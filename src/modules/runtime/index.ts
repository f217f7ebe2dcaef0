import './graphql/executions.ts';
