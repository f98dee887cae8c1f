/**
 * Live observation of sandboxes: one observer per watched sandbox, shared by everyone watching
 * it (a learner with two tabs, later an instructor), reading only while someone watches.
 *
 * Each tick (OBSERVE_INTERVAL_MS) reads the cgroup for the meters and turns counter changes into
 * timeline events. The host view and the namespace map cost a pass over /proc, so they are
 * rebuilt every other tick and sent only when they changed.
 *
 * The observatory also feeds the operators' OOM-kill counter, for every sandbox, watched or not:
 * from the meters' readings, from a slow sweep, and from a last reading when a sandbox closes.
 */
import { OBSERVE_INTERVAL_MS, type HostView, type MeterSample, type NamespaceMap, type ObserveEvent, type ObserveView } from '../../../protocol';
import type { CgroupHost } from '../cgroups/host';
import type { LabMetrics } from '../http/metrics';
import type { Logger } from '../log';
import { MAPPED_ID_COUNT } from '../runtime/oci-spec';
import type { Lab } from '../sandbox/lab';
import type { Sandbox } from '../sandbox/sandbox';
import { cgroupProcesses } from './cgroup-files';
import { cgroupStatsReader, processCgroupDir, type CgroupStatsReader } from './cgroup-stats';
import { EventDetector } from './event-detector';
import { buildHostView } from './host-view';
import { buildNamespaceMap } from './namespace-map';
import { scanSandbox } from './sandbox-scan';

/**
 * Where one watcher's readings go (a socket, in practice). A reading returns false when it was
 * not sent because the connection is not taking what it was sent (observe-handlers.ts): a meter
 * reading is then missed, as the next one replaces it, and a host view or map goes again at the
 * next scan. So a watcher that stops reading costs lab-server no memory that grows.
 */
export interface ObserveSink {
  meters(sample: MeterSample): boolean;
  event(event: ObserveEvent): void;
  hostView(hostView: HostView): boolean;
  nsMap(nsMap: NamespaceMap): boolean;
}

export interface ObservatoryOptions {
  cgroupHost: CgroupHost;
  logger: Logger;
  metrics?: LabMetrics;
  /** For tests with a fixture tree; '/proc' otherwise. */
  procRoot?: string;
}

/**
 * A pass over /proc that takes longer than this (a sandbox full of processes and mount
 * namespaces, or a busy host) is not repeated for SLOW_SCAN_BACKOFF times as long, at most
 * MAX_SCAN_BACKOFF_MS: the host view and map then update less often, and lab-server's threads
 * stay free for everyone else. A lesson's sandbox scans in a few milliseconds.
 */
const SLOW_SCAN_MS = 100;
const SLOW_SCAN_BACKOFF = 20;
const MAX_SCAN_BACKOFF_MS = 30_000;

/** How often every sandbox's OOM kills are counted for /metrics, watched or not. */
const OOM_SWEEP_INTERVAL_MS = 10_000;

export class Observatory {
  private readonly observers = new Map<string, SandboxObserver>();
  /** The last OOM-kill count seen per sandbox, so the counter only ever grows by new kills. */
  private readonly oomCounts = new Map<string, number>();
  private readonly readers = new WeakMap<Sandbox, CgroupStatsReader>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly stopListening: () => void;

  constructor(
    private readonly lab: Lab,
    private readonly options: ObservatoryOptions,
  ) {
    this.sweeper = setInterval(() => void this.sweepOomKills(), OOM_SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    this.stopListening = lab.onSandboxClosed((sandbox) => {
      this.observers.get(sandbox.id)?.dispose();
      this.observers.delete(sandbox.id);
      // A last look before teardown removes the cgroup, so kills just before the end count too.
      void this.readStats(sandbox)
        .then((stats) => this.countOomKills(sandbox.id, stats.memory.oomKills))
        .catch(() => {})
        .finally(() => this.oomCounts.delete(sandbox.id));
    });
  }

  get cgroupVersion(): 'v1' | 'v2' {
    return this.options.cgroupHost.mode === 'v2' ? 'v2' : 'v1';
  }

  /** Starts or changes what `watcherId` receives about `sandbox`. The caller has checked ownership. */
  watch(sandbox: Sandbox, watcherId: string, views: ObserveView[], sink: ObserveSink): void {
    let observer = this.observers.get(sandbox.id);
    if (!observer) {
      observer = new SandboxObserver(sandbox, this.readerFor(sandbox), this.options, (oomKills) => this.countOomKills(sandbox.id, oomKills));
      this.observers.set(sandbox.id, observer);
    }
    observer.setWatcher(watcherId, new Set(views), sink);
  }

  unwatch(sandboxId: string, watcherId: string): void {
    const observer = this.observers.get(sandboxId);
    if (!observer) return;
    observer.removeWatcher(watcherId);
    if (observer.idle) {
      observer.dispose();
      this.observers.delete(sandboxId);
    }
  }

  /** How many sandboxes are being read right now (for tests: nothing runs unwatched). */
  get activeObservers(): number {
    return this.observers.size;
  }

  dispose(): void {
    clearInterval(this.sweeper);
    this.stopListening();
    for (const observer of this.observers.values()) observer.dispose();
    this.observers.clear();
  }

  private readerFor(sandbox: Sandbox): CgroupStatsReader {
    let reader = this.readers.get(sandbox);
    if (!reader) {
      reader = cgroupStatsReader(this.options.cgroupHost, sandbox.cgroup.cgroupsPath);
      this.readers.set(sandbox, reader);
    }
    return reader;
  }

  private readStats(sandbox: Sandbox) {
    return this.readerFor(sandbox)();
  }

  private countOomKills(sandboxId: string, oomKills: number): void {
    const last = this.oomCounts.get(sandboxId) ?? 0;
    if (oomKills > last) this.options.metrics?.oomKills.inc(oomKills - last);
    // A smaller count means a child cgroup holding some was removed (v1); start again from here.
    this.oomCounts.set(sandboxId, oomKills);
  }

  private async sweepOomKills(): Promise<void> {
    for (const sandbox of this.lab.all()) {
      if (sandbox.state !== 'running' || this.observers.get(sandbox.id)?.readsMeters) continue;
      try {
        this.countOomKills(sandbox.id, (await this.readStats(sandbox)).memory.oomKills);
      } catch {
        // The sandbox is closing; its last reading is taken on close.
      }
    }
  }
}

interface Watcher {
  views: Set<ObserveView>;
  sink: ObserveSink;
}

/** Reads one sandbox on a timer while it has watchers. */
class SandboxObserver {
  private readonly watchers = new Map<string, Watcher>();
  private readonly detector = new EventDetector();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private ticks = 0;
  private previous: MeterSample | undefined;
  /** What was last sent, to send the host view and map only when they change. */
  private lastHostView = '';
  private lastNsMap = '';
  private warned = false;
  /** After a slow scan, no other before this time (performance.now()). */
  private scanNotBefore = 0;
  /** Slow scans so far, for tests and the log. */
  slowScans = 0;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly readStats: CgroupStatsReader,
    private readonly options: ObservatoryOptions,
    private readonly onOomKills: (count: number) => void,
  ) {}

  get idle(): boolean {
    return this.watchers.size === 0;
  }

  get readsMeters(): boolean {
    return this.wants('meters');
  }

  setWatcher(id: string, views: Set<ObserveView>, sink: ObserveSink): void {
    this.watchers.set(id, { views, sink });
    // A new watcher gets the current host view and map at once, even if unchanged.
    this.lastHostView = '';
    this.lastNsMap = '';
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), OBSERVE_INTERVAL_MS);
      this.timer.unref();
    }
    this.ticks = 0;
    void this.tick();
  }

  removeWatcher(id: string): void {
    this.watchers.delete(id);
    if (this.idle) this.dispose();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private wants(view: ObserveView): boolean {
    for (const watcher of this.watchers.values()) if (watcher.views.has(view)) return true;
    return false;
  }

  /** False if a watcher's connection did not take it. */
  private send(view: ObserveView, deliver: (sink: ObserveSink) => boolean | void): boolean {
    let sent = true;
    for (const watcher of this.watchers.values()) if (watcher.views.has(view) && deliver(watcher.sink) === false) sent = false;
    return sent;
  }

  private async tick(): Promise<void> {
    // A slow read (a busy host) must not pile ticks up behind it.
    if (this.busy || !this.timer) return;
    if (this.sandbox.state !== 'running') return this.dispose();
    this.busy = true;
    try {
      if (this.wants('meters')) await this.readMeters();
      if (this.ticks % 2 === 0 && performance.now() >= this.scanNotBefore && (this.wants('hostView') || this.wants('nsMap'))) await this.timedScan();
      this.ticks++;
    } catch (error) {
      if (this.sandbox.state !== 'running') return this.dispose();
      if (!this.warned) {
        this.warned = true;
        this.options.logger.warn('observing a sandbox failed', { sandboxId: this.sandbox.id, code: 'OBSERVE_FAILED', err: error });
      }
    } finally {
      this.busy = false;
    }
  }

  private async readMeters(): Promise<void> {
    // The figures were read somewhere between the start and the end of the read: the middle is
    // the best guess, and a slow read then skews a CPU rate least.
    const readStarted = Date.now();
    const stats = await this.readStats();
    const at = Math.round((readStarted + Date.now()) / 2);
    const previous = this.previous;
    const seconds = previous ? (at - previous.at) / 1000 : 0;
    const sample: MeterSample = {
      at,
      stats,
      cpuUsage: previous && seconds > 0 ? Math.max(0, (stats.cpu.usageUsec - previous.stats.cpu.usageUsec) / 1e6 / seconds) : null,
      throttledMsPerSecond: previous && seconds > 0 ? Math.max(0, (stats.cpu.throttledUsec - previous.stats.cpu.throttledUsec) / 1000 / seconds) : null,
    };
    this.previous = sample;
    this.onOomKills(stats.memory.oomKills);
    const events = this.detector.next(stats, at);
    this.send('meters', (sink) => sink.meters(sample));
    for (const event of events) this.send('meters', (sink) => sink.event(event));
  }

  private async timedScan(): Promise<void> {
    const started = performance.now();
    await this.readProcesses();
    const ms = performance.now() - started;
    if (ms <= SLOW_SCAN_MS) return;
    this.scanNotBefore = performance.now() + Math.min(MAX_SCAN_BACKOFF_MS, ms * SLOW_SCAN_BACKOFF);
    if (this.slowScans++ === 0) this.options.logger.warn('a sandbox is slow to observe; its host view and map update less often', { sandboxId: this.sandbox.id, code: 'OBSERVE_SLOW', ms: Math.round(ms) });
  }

  private async readProcesses(): Promise<void> {
    const initPid = this.sandbox.initPid();
    if (!initPid) return;
    const { cgroupHost } = this.options;
    const hostUid = this.sandbox.hostUid;
    if (hostUid === undefined) return;
    const scan = await scanSandbox({
      procRoot: this.options.procRoot ?? '/proc',
      pids: await cgroupProcesses(processCgroupDir(cgroupHost, this.sandbox.cgroup.cgroupsPath)),
      initPid,
      labServerPid: 'self',
      sandboxUids: { start: hostUid, count: MAPPED_ID_COUNT },
      cgroupController: cgroupHost.mode === 'v2' ? undefined : 'memory',
    });
    if (!scan || this.sandbox.state !== 'running') return;
    if (this.wants('hostView')) {
      const hostView = buildHostView(scan);
      const key = JSON.stringify({ ...hostView, at: 0 });
      if (key !== this.lastHostView) {
        this.lastHostView = this.send('hostView', (sink) => sink.hostView(hostView)) ? key : '';
      }
    }
    if (this.wants('nsMap')) {
      const nsMap = buildNamespaceMap(scan);
      const key = JSON.stringify({ ...nsMap, at: 0 });
      if (key !== this.lastNsMap) {
        this.lastNsMap = this.send('nsMap', (sink) => sink.nsMap(nsMap)) ? key : '';
      }
    }
  }
}
