/**
 * A small observable value kept in localStorage, for state that belongs to this browser only
 * (progress, preferences, the chosen name). React renders it with useStore().
 *
 * Storage is an edge: it may be missing (server rendering), full, disabled (private modes) or
 * hold something an older version wrote. None of that may break the page, so reads fall back to
 * the default and failed writes keep the value in memory for this visit.
 *
 * Each store checks what it reads with a small hand-written guard, not zod: these are the lesson
 * page's own little blobs, and zod would be the largest library it loads before its first prompt.
 * (The socket protocol's schemas stay zod, on lab-server.)
 */
import { Store } from '../state/store';

export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** What was stored, as a T (repaired where the store can), or undefined to start from the default. */
export type StoredGuard<T> = (stored: unknown) => T | undefined;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export function browserStorage(): StorageLike | undefined {
  try {
    return typeof window === 'undefined' ? undefined : window.localStorage;
  } catch {
    // Some browsers throw on the mere access when storage is disabled.
    return undefined;
  }
}

export class LocalStore<T> extends Store<T> {
  private stopWatchingOtherTabs: (() => void) | undefined;

  constructor(
    readonly key: string,
    private readonly guard: StoredGuard<T>,
    /** What the server renders, and what hydration starts from. */
    readonly fallback: T,
    private readonly storage: StorageLike | undefined = browserStorage(),
  ) {
    super(fallback);
    super.set(this.read());
  }

  override set(update: T | ((current: T) => T)): void {
    const next = typeof update === 'function' ? (update as (current: T) => T)(this.get()) : update;
    if (Object.is(next, this.get())) return;
    try {
      this.storage?.setItem(this.key, JSON.stringify(next));
    } catch {
      // Full or disabled storage: the value still holds for this visit.
    }
    super.set(next);
  }

  /** Another tab may write the same key: follow it while anything is listening. */
  protected override watched(): void {
    if (typeof window === 'undefined' || this.storage !== browserStorage()) return;
    const onStorage = (event: StorageEvent) => {
      if (event.key === this.key || event.key === null) this.reload();
    };
    window.addEventListener('storage', onStorage);
    this.stopWatchingOtherTabs = () => window.removeEventListener('storage', onStorage);
  }

  protected override unwatched(): void {
    this.stopWatchingOtherTabs?.();
    this.stopWatchingOtherTabs = undefined;
  }

  /** Re-reads storage, e.g. after another tab wrote it. */
  reload(): void {
    super.set(this.read());
  }

  private read(): T {
    let raw: string | null | undefined;
    try {
      raw = this.storage?.getItem(this.key);
    } catch {
      return this.fallback;
    }
    if (!raw) return this.fallback;
    try {
      return this.guard(JSON.parse(raw)) ?? this.fallback;
    } catch {
      return this.fallback;
    }
  }
}
