import type { Services } from '../../src/core/services.ts';
import { authenticateBearer } from '../bearer.ts';
import type { ProductSurface } from '../types.ts';

/**
 * GoClaw's door: `Authorization: Bearer <gateway token | API key>`. The Atrium admin key acts as the
 * gateway token (admin); API keys must be GoClaw keys. There is no "auth disabled" mode.
 */
export function goclawAuthenticator(services: Pick<Services, 'authenticator'>): ProductSurface['authenticate'] {
  return (headers) => authenticateBearer(services, headers, 'goclaw');
}
