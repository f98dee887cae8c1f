/** What `npm run load`'s main thread and its learner threads (learner-thread.ts) share: what learners type, and the messages between them. */

export interface ThreadData {
  labUrl: string;
  origin: string;
  /** The learners this thread runs (their index in the class: ramp slot and loopback address). */
  learners: number[];
  classSize: number;
  rampMs: number;
  /** The niceness this thread sets itself (Linux: per thread), see --generator-nice. */
  nice: number;
}

/** Sent once every thread is ready (has loaded its code). */
export interface ThreadStart {
  type: 'start';
  /** Epoch ms: the class starts here, learner i at startedAt + rampMs × i / classSize. */
  startedAt: number;
  endAt: number;
  /** Echoes after this count in the steady-state breakdown. */
  steadyFrom: number;
}

/** What a thread answers to `sample`: its counters so far, and its event loop delay since the last sample. */
export interface ThreadProgress {
  type: 'progress';
  active: number;
  keystrokes: number;
  commands: number;
  dropped: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ThreadStats {
  echoMs: number[];
  /** Echoes after the ramp, the window the breakdown covers. */
  steadyEchoMs: number[];
  commandMs: number[];
  timedCommandMs: number[];
  reconnectMs: number[];
  commands: number;
  keystrokes: number;
  reconnects: number;
  dropped: number;
  dropReasons: Record<string, number>;
  /** When each drop happened (epoch ms), to tell a drop in the class from one in its ending. */
  dropTimes: number[];
}

/** What learners type: commands with a little or a lot of output, like the lessons'. */
export const COMMANDS = [
  'ls -la /usr/bin | head -40',
  'ps aux',
  'seq 1 300',
  'cat /etc/os-release',
  'ip addr',
  'unshare -Urpf --mount-proc ps aux',
  'hostname; id',
  'cat /proc/self/cgroup',
  'ls /proc/self/ns -l',
  'free -m; uptime',
  'mkdir -p /tmp/w && cd /tmp/w && touch a b c && ls -l; cd',
  'stress-ng --cpu 1 -t 2 -q; echo burned',
];
/** Takes 2 s of CPU on purpose, so its round trip is reported apart from the others'. */
export const TIMED_COMMAND = 'stress-ng';

