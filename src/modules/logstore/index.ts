import './graphql/types.ts';
import './graphql/database.ts';
import './graphql/mutations.ts';
