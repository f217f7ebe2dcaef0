import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Lower-case hex SHA-256 of a UTF-8 string: how API keys and service tokens are stored. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Compares two secrets in time independent of where they differ and of their lengths
 * (both sides are hashed to fixed-length digests first).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * `constantTimeEqual(candidate, secret)` for one fixed secret checked on every request (the admin key): its digest
 * is computed once, so a check hashes only the candidate.
 */
export function secretMatcher(secret: string): (candidate: string) => boolean {
  const expected = createHash('sha256').update(secret, 'utf8').digest();
  return (candidate) => timingSafeEqual(createHash('sha256').update(candidate, 'utf8').digest(), expected);
}

/** Cryptographically random lower-case hex of `bytes` bytes. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
