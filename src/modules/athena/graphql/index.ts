import './types.ts';
import './gateway.ts';
import './meta.ts';
import './clients.ts';
import './schema.ts';
import './gateway-routes.ts';
import './keys.ts';
import './chat.ts';
