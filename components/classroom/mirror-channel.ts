/**
 * The plumbing behind a read-only terminal view: a learner following the instructor's
 * broadcast, or the instructor spotlighting a learner. It opens the mirror (`class:follow`,
 * `class:spotlight`) only once a view is on the page to show it, so the snapshot and the
 * output that follows always land in a terminal, and opens it again on every new connection,
 * because the server forgets a connection's mirrors when it drops.
 */
import type { LabClient } from '../../lib/lab-client';
import type { Mirror } from '../../protocol';
import type { MirrorTerminal } from '../terminal/mirror-terminal';

/** What the channel needs of the terminal on the page. */
export type MirrorTarget = Pick<MirrorTerminal, 'watch' | 'detach'>;

export interface MirrorChannelOptions {
  /** Asks the server for the mirror on this client. */
  open(client: LabClient): Promise<Mirror>;
  /** The mirror could not be opened, in a sentence (or undefined once it could). */
  onError?(message: string | undefined): void;
}

export class MirrorChannel {
  private view: MirrorTarget | undefined;
  private client: LabClient | undefined;
  private active = false;
  /** Bumped by every open and stop; an answer for an older one is dropped. */
  private seq = 0;

  constructor(private readonly options: MirrorChannelOptions) {}

  get isActive(): boolean {
    return this.active;
  }

  /** A new connection (or none): whatever the view showed came from the old one. */
  setClient(client: LabClient | undefined): void {
    if (client === this.client) return;
    this.client = client;
    this.seq++;
    this.view?.detach('disconnected', 'Reconnecting…');
    void this.open();
  }

  /** Show the mirror (again): after a broadcast restarts, the server wants a fresh request. */
  start(): void {
    this.active = true;
    void this.open();
  }

  /** Stop showing it; `message` says why on the view, if it stays on the page. */
  stop(message?: string): void {
    this.active = false;
    this.seq++;
    this.view?.detach('ended', message);
  }

  register(view: MirrorTarget): () => void {
    this.view = view;
    void this.open();
    return () => {
      if (this.view !== view) return;
      this.view = undefined;
      this.seq++;
    };
  }

  private async open(): Promise<void> {
    const { view, client } = this;
    if (!this.active || !view || !client) return;
    const seq = ++this.seq;
    try {
      const mirror = await this.options.open(client);
      if (seq !== this.seq || this.view !== view) return;
      view.watch(client, mirror);
      this.options.onError?.(undefined);
    } catch (error) {
      if (seq === this.seq) this.options.onError?.((error as Error).message);
    }
  }
}
