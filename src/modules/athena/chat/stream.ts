/** Attaches a listener to an event source; answers the detacher. */
export type EventSource<E> = (push: (event: E) => void) => () => void;

/**
 * An event-driven async iterator: events from one or more sources (pub/sub listeners) are handled one at a
 * time, in arrival order, by `handle`, which turns each into zero or more outputs (or throws to end the stream with
 * that error). `initial` runs before the first event is handled (a replay), while the sources already buffer, so
 * nothing published during the replay is lost. `return()` ends it at once, even while it waits for an event.
 */
export class EventStream<E, T> implements AsyncIterableIterator<T> {
  private readonly events: E[] = [];
  private readonly out: T[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private failure: { error: unknown } | undefined;
  private readonly detach: (() => void)[];

  constructor(
    sources: EventSource<E>[],
    private readonly handle: (event: E) => Promise<T[]>,
    private initial?: () => Promise<T[]>,
    private readonly onEnd?: () => void,
    private readonly maxBuffered = 10_000,
  ) {
    this.detach = sources.map((attach) =>
      attach((event) => {
        if (this.done) return;
        if (this.events.length < this.maxBuffered) this.events.push(event);
        this.wake?.();
      }),
    );
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    try {
      if (this.initial) {
        const replay = this.initial;
        this.initial = undefined;
        this.out.push(...(await replay()));
      }
      for (;;) {
        if (this.out.length > 0) return { done: false, value: this.out.shift() as T };
        if (this.failure) throw this.failure.error;
        if (this.done) return { done: true, value: undefined };
        const event = this.events.shift();
        if (event !== undefined) {
          this.out.push(...(await this.handle(event)));
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } catch (error) {
      await this.return();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.onEnd?.();
      this.wake?.();
      for (const d of this.detach) d();
    }
    return { done: true, value: undefined };
  }
}
