import './types.ts';
import './gateway.ts';
import './schema.ts';
