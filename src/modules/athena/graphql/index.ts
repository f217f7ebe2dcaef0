import './types.ts';
import './gateway.ts';
import './gateway-routes.ts';
