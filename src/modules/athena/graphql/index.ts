import './types.ts';
import './gateway.ts';
