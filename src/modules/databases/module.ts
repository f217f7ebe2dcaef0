import { defineModule } from '../../core/module.ts';
import { parseDatabasesConfig } from './databases.config.ts';
import { DatabasesService } from './databases.service.ts';

declare module '../../core/module.ts' {
  interface ModuleServices {
    databases: DatabasesService;
  }
}

export const databasesModule = defineModule({
  name: 'databases',
  description: 'Client databases on the configured Postgres and MySQL servers: create, limit, drop (docs/databases.md)',
  config: parseDatabasesConfig,
  create: ({ config }) => new DatabasesService(config),
});
