import './types.ts';
import './database.ts';
import './mutations.ts';
