import './graphql/types.ts';
import './graphql/queries.ts';
import './graphql/mutations.ts';
import './graphql/webhooks.ts';
import './graphql/blueprints.ts';
import './graphql/applications.ts';
