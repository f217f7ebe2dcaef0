/**
 * Sealed values opened once: the gateway resolves a client's connection URI on every request, and opening the
 * sealed URI (AES-256-GCM) each time cost more than the rest of the client lookup. A sealed value is immutable — a
 * changed URI is sealed anew under a fresh IV, so it is a different key here and is opened (and its pool rebuilt)
 * on first use — so a hit can never return a stale secret. The plaintext is already held in memory by the client's
 * pool; this keeps no more than that. Bounded: past `max` entries the oldest is dropped.
 */
export class OpenedSecrets {
  readonly #opened = new Map<string, string>();

  constructor(
    private readonly open: (sealed: string) => string,
    private readonly max = 1000,
  ) {}

  /** The plaintext of `sealed`, opened on first use; an opening failure is thrown and not cached. */
  get(sealed: string): string {
    const hit = this.#opened.get(sealed);
    if (hit !== undefined) return hit;
    const plain = this.open(sealed);
    if (this.#opened.size >= this.max) {
      const oldest = this.#opened.keys().next();
      if (!oldest.done) this.#opened.delete(oldest.value);
    }
    this.#opened.set(sealed, plain);
    return plain;
  }

  /** Forgets every opened value (a client changed: the URIs it no longer uses need not stay in memory). */
  clear(): void {
    this.#opened.clear();
  }
}
