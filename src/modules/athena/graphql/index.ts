import './types.ts';
import './meta.ts';
