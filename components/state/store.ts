/**
 * One small observable value: what every plain class behind a React view (a connection, the
 * classroom, an observe feed, a localStorage entry) exposes, so React renders it through one
 * hook (`useStore`) and tests read it with `get()`.
 */

/** The read side of a store: a value and change notifications (React's useSyncExternalStore contract). */
export interface ReadableStore<T> {
  get(): T;
  subscribe(listener: () => void): () => void;
}

export class Store<T> implements ReadableStore<T> {
  private readonly listeners = new Set<() => void>();

  constructor(private value: T) {}

  get = (): T => this.value;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.watched();
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.unwatched();
    };
  };

  /** Replaces the value; listeners hear of it only when it changed. */
  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    for (const listener of [...this.listeners]) listener();
  }

  /** Changes some fields of an object value; nothing happens when every one is already so. */
  update(change: Partial<T>): void {
    const next = { ...this.value, ...change };
    if ((Object.keys(change) as Array<keyof T>).every((key) => Object.is(next[key], this.value[key]))) return;
    this.set(next);
  }

  /** Forgets every listener (the owner was disposed). */
  close(): void {
    this.listeners.clear();
  }

  /** The first listener arrived: a subclass may start watching its source. */
  protected watched(): void {}

  /** The last listener left. */
  protected unwatched(): void {}
}
