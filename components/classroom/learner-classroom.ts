/**
 * A lesson page's part in the classroom, on the page's own socket (SandboxConnection):
 * - it reports where the learner is (`class:progress`): the lesson and the step they are working
 *   on (the first one not done), on every (re)connect and whenever that changes, so the
 *   instructor's dashboard is live without the learner doing anything; what they passed the
 *   dashboard learns from lab-server's own record, never from the page;
 * - it brings this browser's copy of the progress up to the class record on every connection
 *   and whenever the record changes (a pass in another tab or browser, a reset);
 * - it tells the instructor the learner's chosen name;
 * - it knows whether the instructor is broadcasting, and follows the broadcast when asked;
 * - it knows whether the instructor is viewing this learner's terminal (the spotlight).
 *
 * A plain class with a store, so React only renders it.
 */
import type { LabClient } from '../../lib/lab-client';
import type { ClientListener } from '../connection/lab-connection';
import { doneSteps, type ProgressData, type ProgressStore } from '../progress/progress-store';
import { Store, type ReadableStore } from '../state/store';
import type { DisplayNameData } from './display-name-store';
import { MirrorChannel, type MirrorTarget } from './mirror-channel';

export interface LearnerClassSnapshot {
  /** The instructor is broadcasting a terminal that can be followed. */
  broadcastLive: boolean;
  /** The learner chose to follow it (the mirror is shown in place of their own terminal). */
  following: boolean;
  /** Why the broadcast cannot be shown, in a sentence. */
  followError?: string;
  /** The instructor is viewing this learner's terminal right now. */
  spotlighted: boolean;
  /** Something that just happened, worth a short note (e.g. the broadcast ended). */
  notice?: string;
}

export interface LearnerClassroomOptions {
  slug: string;
  /** The lesson's step ids, in order. */
  stepIds: readonly string[];
  progress: ReadableStore<ProgressData> & Pick<ProgressStore, 'adoptVerified'>;
  names: ReadableStore<DisplayNameData> & { rememberGenerated(name: string): void };
}

/**
 * When a broadcast stops while the learner follows it, wait this long before switching back to
 * their own terminal: the instructor moving the broadcast to another terminal stops and starts it.
 */
export const BROADCAST_GAP_MS = 3000;

export class LearnerClassroom {
  private readonly store = new Store<LearnerClassSnapshot>({ broadcastLive: false, following: false, spotlighted: false });
  private readonly cleanups: Array<() => void> = [];
  private readonly channel: MirrorChannel;
  private client: LabClient | undefined;
  /** What was last reported on this client, so unchanged progress is not sent again. */
  private lastReport = '';
  private lastName: string | undefined;
  private gapTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly connection: { onClient(listener: ClientListener): () => void },
    private readonly options: LearnerClassroomOptions,
  ) {
    this.channel = new MirrorChannel({
      open: (client) => client.request('class:follow', {}),
      onError: (followError) => this.update({ followError }),
    });
  }

  get state(): ReadableStore<LearnerClassSnapshot> {
    return this.store;
  }

  start(): void {
    this.cleanups.push(
      this.connection.onClient((client) => this.adopt(client)),
      this.options.progress.subscribe(() => this.report()),
      this.options.names.subscribe(() => this.sendName()),
    );
  }

  /** Show the instructor's terminal in place of the learner's own. */
  follow(): void {
    if (this.disposed || !this.store.get().broadcastLive) return;
    clearTimeout(this.gapTimer);
    this.update({ following: true, followError: undefined, notice: undefined });
    this.channel.start();
  }

  /** Back to the learner's own terminal. */
  unfollow(notice?: string): void {
    clearTimeout(this.gapTimer);
    if (!this.store.get().following) return;
    this.channel.stop();
    this.update({ following: false, followError: undefined, notice });
    if (this.client?.socket.connected) void this.client.request('class:unfollow', {}).catch(() => undefined);
  }

  dismissNotice(): void {
    if (this.store.get().notice) this.update({ notice: undefined });
  }

  /** The read-only view of the broadcast registers here while it is on the page. */
  registerMirror(view: MirrorTarget): () => void {
    return this.channel.register(view);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.gapTimer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.store.close();
  }

  // ---------------------------------------------------------------------------------------------

  private adopt(client: LabClient): () => void {
    this.client = client;
    this.lastReport = '';
    this.lastName = undefined;
    // A new connection starts with no broadcast known: the server says so right after connecting
    // if there is one. A spotlight is kept as it was: showing the badge a moment too long is
    // better than hiding it while someone looks.
    clearTimeout(this.gapTimer);
    this.update({ broadcastLive: false });
    if (this.store.get().following) {
      // Follow again once the server confirms the broadcast is still on; if it is not, go back.
      this.channel.stop('Reconnecting…');
      this.gapTimer = setTimeout(() => this.unfollow('The broadcast ended while you were reconnecting.'), BROADCAST_GAP_MS);
    }
    const offs = [
      client.on('class:broadcast-status', ({ active }) => this.onBroadcast(active)),
      client.on('class:spotlighted', ({ active }) => this.update({ spotlighted: active })),
      client.on('progress:updated', ({ passes }) => this.options.progress.adoptVerified(passes)),
      client.onSession((session) => {
        if (!this.options.names.get().chosen) this.options.names.rememberGenerated(session.displayName);
        this.lastName = session.displayName;
        this.sendName();
      }),
    ];
    this.channel.setClient(client);
    this.report();
    client
      .request('progress:get', {})
      .then(({ passes }) => {
        if (this.client === client && !this.disposed) this.options.progress.adoptVerified(passes);
      })
      .catch(() => {
        // Asked again on the next connection; until then the browser's copy shows.
      });
    return () => {
      for (const off of offs) off();
      if (this.client === client) {
        this.client = undefined;
        this.channel.setClient(undefined);
      }
    };
  }

  private onBroadcast(active: boolean): void {
    clearTimeout(this.gapTimer);
    this.update({ broadcastLive: active });
    if (!this.store.get().following) return;
    if (active) {
      // A new (or moved) broadcast: the server dropped every follower of the old one.
      this.channel.start();
      return;
    }
    this.channel.stop('The instructor paused the broadcast…');
    this.gapTimer = setTimeout(() => this.unfollow('The instructor stopped broadcasting, so you are back in your own terminal.'), BROADCAST_GAP_MS);
  }

  /** Tells the instructor where the learner is, if that changed since the last report. */
  private report(): void {
    const client = this.client;
    if (!client || this.disposed) return;
    const { slug, stepIds } = this.options;
    const done = new Set(doneSteps(this.options.progress.get(), slug));
    const stepId = stepIds.find((id) => !done.has(id)) ?? null;
    const report = JSON.stringify([slug, stepId]);
    if (report === this.lastReport) return;
    this.lastReport = report;
    client.send('class:progress', { lessonSlug: slug, stepId });
  }

  /** Sends the learner's chosen name when the server has another one. */
  private sendName(): void {
    const client = this.client;
    const chosen = this.options.names.get().chosen;
    if (!client || !chosen || chosen === this.lastName || this.disposed) return;
    this.lastName = chosen;
    client.request('class:rename', { displayName: chosen }).catch(() => {
      // Tried again on the next connection.
      this.lastName = undefined;
    });
  }

  private update(change: Partial<LearnerClassSnapshot>): void {
    if (!this.disposed) this.store.update(change);
  }
}
