import { defineSurface } from '../engine/operation.ts';
import { patchAthenaContract } from './contract-patch.ts';

/** Athena's envelope (`DefaultServerError5xx`): `{status: "error", code, message, error}`. */
export function athenaErrorBody(_status: number, message: string, code: string, _requestId: string) {
  return { status: 'error', code, message, error: message };
}

/**
 * Athena, the Postgres gateway. Its credentials (admin key, client-bound keys, sessions) are not served yet: every
 * operation but the contract documents answers 501 in Athena's envelope.
 */
export const athenaSurface = defineSurface({
  product: 'athena',
  prefix: '/athena',
  contract: { file: 'athena.openapi.json', patch: patchAthenaContract },
  errorBody: athenaErrorBody,
  groups: [],
});
