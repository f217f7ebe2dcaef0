import './graphql/api-keys.ts';
import './graphql/audit.ts';
import './graphql/tokens.ts';
import './graphql/viewer.ts';
