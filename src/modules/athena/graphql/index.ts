import './types.ts';
import './gateway.ts';
import './meta.ts';
import './clients.ts';
import './schema.ts';
import './gateway-routes.ts';
import './chat.ts';
