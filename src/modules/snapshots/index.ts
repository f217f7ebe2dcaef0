import './graphql/snapshots.ts';
