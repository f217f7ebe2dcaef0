import './types.ts';
import './clients.ts';
