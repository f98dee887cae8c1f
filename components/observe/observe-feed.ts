/**
 * The browser's end of the observe stream for one sandbox: subscribes to the views on screen,
 * keeps a short history for the charts and the event timeline, and unsubscribes when nothing is
 * shown. A plain class with a store, so React only renders it.
 */
import type { LabClient } from '../../lib/lab-client';
import type { HostView, MeterSample, NamespaceMap, ObserveEvent, ObserveView } from '../../protocol';
import { Store, type ReadableStore } from '../state/store';

/** What the feed needs of a LabClient; tests pass a fake. */
export type ObserveClient = Pick<LabClient, 'request' | 'on'>;

/** 2 readings a second: a minute of history. */
export const HISTORY_SAMPLES = 120;
export const MAX_EVENTS = 50;

export interface ObserveSnapshot {
  /** Oldest first, at most HISTORY_SAMPLES. */
  history: readonly MeterSample[];
  /** Newest first, at most MAX_EVENTS. */
  events: readonly ObserveEvent[];
  hostView?: HostView;
  nsMap?: NamespaceMap;
  cgroupVersion?: 'v1' | 'v2';
  /** A sentence when subscribing failed (e.g. the sandbox ended). */
  error?: string;
}

export class ObserveFeed {
  private readonly store = new Store<ObserveSnapshot>({ history: [], events: [] });
  private readonly off: Array<() => void>;
  private views: ObserveView[] = [];
  private disposed = false;

  constructor(
    private readonly client: ObserveClient,
    readonly sandboxId: string,
  ) {
    const mine = (id: string) => id === sandboxId && !this.disposed;
    this.off = [
      client.on('observe:meters', ({ sandboxId: id, sample }) => {
        if (!mine(id)) return;
        const history = [...this.store.get().history, sample];
        this.update({ history: history.length > HISTORY_SAMPLES ? history.slice(-HISTORY_SAMPLES) : history });
      }),
      client.on('observe:event', ({ sandboxId: id, event }) => {
        if (mine(id)) this.update({ events: [event, ...this.store.get().events].slice(0, MAX_EVENTS) });
      }),
      client.on('observe:host-view', ({ sandboxId: id, hostView }) => mine(id) && this.update({ hostView })),
      client.on('observe:ns-map', ({ sandboxId: id, nsMap }) => mine(id) && this.update({ nsMap })),
    ];
  }

  get state(): ReadableStore<ObserveSnapshot> {
    return this.store;
  }

  /** Streams exactly these views; an empty list stops the stream. */
  async show(views: ObserveView[]): Promise<void> {
    const wanted = [...new Set(views)].sort();
    if (this.disposed || wanted.join() === this.views.join()) return;
    this.views = wanted;
    try {
      if (wanted.length === 0) {
        await this.client.request('observe:unsubscribe', { sandboxId: this.sandboxId });
        return;
      }
      const { cgroupVersion } = await this.client.request('observe:subscribe', { sandboxId: this.sandboxId, views: wanted });
      this.update({ cgroupVersion, error: undefined });
    } catch (error) {
      this.views = [];
      this.update({ error: (error as Error).message });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    const wasShowing = this.views.length > 0;
    this.disposed = true;
    for (const off of this.off) off();
    this.store.close();
    if (wasShowing) this.client.request('observe:unsubscribe', { sandboxId: this.sandboxId }).catch(() => undefined);
  }

  private update(change: Partial<ObserveSnapshot>): void {
    this.store.set({ ...this.store.get(), ...change });
  }
}
