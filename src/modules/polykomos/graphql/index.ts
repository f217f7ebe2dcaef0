import './types.ts';
import './queries.ts';
import './mutations.ts';
import './webhooks.ts';
import './blueprints.ts';
import './applications.ts';
import './query-executions.ts';
