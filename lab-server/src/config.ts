/**
 * lab-server configuration, read once from ISOLAB_* environment variables.
 *
 * Every value has a default that works on a single Debian box. A bad value stops startup with a
 * message that names the variable, what was wrong and what to put there instead.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses "256M", "1g", "65536" into bytes. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()]);
}

const byteSize = (minBytes: number) =>
  z
    .string()
    .transform((text, ctx) => {
      const bytes = parseByteSize(text);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a size; write it like 256M or 1G` });
        return z.NEVER;
      }
      return bytes;
    })
    .refine((bytes) => bytes >= minBytes, { message: `must be at least ${minBytes / 1024 / 1024} MiB` });

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const seconds = (min: number, max: number) => integer(min, max).transform((s) => s * 1000);
const list = z.string().transform((text) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** Addresses and subnets ("127.0.0.1", "10.0.0.0/8", "::1"), comma-separated. */
const addressList = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !bitsOk || rest.length > 0) ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or a subnet like 10.0.0.0/8` });
  }
});

/**
 * A secret an attacker must not guess: at least 32 characters that look random. Refuses the
 * memorable ones ("changeme-changeme-…", a long word repeated), which a dictionary finds.
 */
const secret = (what: string) =>
  z.union([
    z.literal(''),
    z
      .string()
      .max(200)
      .refine((text) => text.length >= 32 && new Set(text).size >= 16, {
        message: `${what} must be at least 32 random characters (make one with: openssl rand -base64 32)`,
      }),
  ]);

/** Each entry: the environment variable, its schema, and the default as the operator would write it. */
const variables = {
  host: ['ISOLAB_HOST', z.string().min(1), '0.0.0.0'],
  /** 0 picks any free port (tests do this). */
  port: ['ISOLAB_PORT', integer(0, 65535), '3001'],
  /** Where learners open the web app. Its origin is always allowed to connect. */
  publicUrl: ['ISOLAB_PUBLIC_URL', z.url(), 'http://localhost:3000'],
  /** Further origins allowed to open a socket, comma-separated (e.g. a second hostname). */
  extraOrigins: ['ISOLAB_ALLOWED_ORIGINS', list, ''],
  /** Long-lived files: the rootfs. Outside the repo, so clones and CI reuse it. */
  dataDir: ['ISOLAB_DATA_DIR', z.string().startsWith('/'), '/var/lib/isolab'],
  /**
   * The class record (names and verified progress), a SQLite file. Empty: progress.db in
   * ISOLAB_DATA_DIR. Two labs on one host need a file each.
   */
  progressDb: ['ISOLAB_PROGRESS_DB', z.union([z.literal(''), z.string().startsWith('/')]), ''],
  /** Short-lived files: runc state and bundles. On tmpfs, so a reboot clears them. */
  stateDir: ['ISOLAB_STATE_DIR', z.string().startsWith('/'), '/run/isolab'],
  runcPath: ['ISOLAB_RUNC', z.string().min(1), 'runc'],
  /** Container root maps to this host uid; the mapped range must belong to nobody on the host. */
  uidBase: ['ISOLAB_UID_BASE', integer(100_000, 4_000_000_000), '1000000000'],
  /** The cgroup under which every sandbox's cgroup is made, relative to each hierarchy's root. */
  cgroupParent: ['ISOLAB_CGROUP_PARENT', z.string().regex(/^[a-z0-9_.-]+$/), 'isolab'],
  memoryLimit: ['ISOLAB_MEMORY_LIMIT', byteSize(32 * 1024 * 1024), '256M'],
  pidsLimit: ['ISOLAB_PIDS_LIMIT', integer(16, 100_000), '256'],
  cpuLimit: ['ISOLAB_CPU_LIMIT', z.coerce.number().min(0.05).max(256), '0.5'],
  /** The CFS period of that limit: a sandbox that used its share waits at most the rest of one period (runtime/oci-spec.ts cpuBandwidth). */
  cpuPeriodMs: ['ISOLAB_CPU_PERIOD_MS', integer(1, 1000), '10'],
  /** Each writable path (/tmp, /root, /run, /home, /var/tmp, /dev/shm) is a tmpfs of this size at most. */
  tmpfsSize: ['ISOLAB_TMPFS_SIZE', byteSize(1024 * 1024), '64M'],
  maxSandboxes: ['ISOLAB_MAX_SANDBOXES', integer(1, 10_000), '100'],
  maxSandboxesPerSession: ['ISOLAB_MAX_SANDBOXES_PER_SESSION', integer(1, 100), '3'],
  /**
   * Sandboxes kept started and ready, so that opening a lesson is instant (see sandbox/warm-pool.ts).
   * auto: eight per CPU core, at most a sixth of ISOLAB_MAX_SANDBOXES (warmPoolBase). 0 turns the pool off.
   */
  warmSandboxes: ['ISOLAB_WARM_SANDBOXES', z.union([z.literal('auto'), integer(0, 10_000)]), 'auto'],
  maxTerminalsPerSandbox: ['ISOLAB_MAX_TERMINALS_PER_SANDBOX', integer(1, 32), '4'],
  /** How long a sandbox nobody is attached to lives on, so a reload or a network blip loses nothing. */
  graceMs: ['ISOLAB_GRACE_SECONDS', seconds(1, 86_400), '60'],
  idleMs: ['ISOLAB_IDLE_SECONDS', seconds(10, 7 * 86_400), '1800'],
  maxLifetimeMs: ['ISOLAB_MAX_LIFETIME_SECONDS', seconds(10, 30 * 86_400), '7200'],
  /** How long a sandbox's shell may take to start (a slow or emulated host needs longer). */
  startTimeoutMs: ['ISOLAB_START_TIMEOUT_SECONDS', seconds(5, 600), '15'],
  checkTimeoutMs: ['ISOLAB_CHECK_TIMEOUT_MS', integer(100, 60_000), '10000'],
  /** Checks one session may run a minute, after a burst of 20 (a learner presses Check a few times a minute). */
  checksPerMinute: ['ISOLAB_CHECKS_PER_MINUTE', integer(1, 60_000), '60'],
  /** `runc exec` processes (checks, terminals starting) at once in the whole lab; their CPU is charged to no sandbox. */
  maxRuncExecs: ['ISOLAB_MAX_RUNC_EXECS', integer(1, 1000), '8'],
  logLevel: ['ISOLAB_LOG_LEVEL', z.enum(['debug', 'info', 'warn', 'error']), 'info'],
  /**
   * The instructor's secret. Empty: a new one is made at every start and printed as the
   * instructor URL, as Jupyter prints its token URL.
   */
  instructorToken: ['ISOLAB_INSTRUCTOR_TOKEN', secret('the instructor token'), ''],
  /** Learners need this code before they get a sandbox; the instructor can also set it from the dashboard. */
  classCode: ['ISOLAB_CLASS_CODE', z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9 -]{4,64}$/, 'must be 4 to 64 letters, digits, dashes or spaces')]), ''],
  /**
   * Proxies whose X-Forwarded-For is believed (e.g. 127.0.0.1 for a Caddy on the same box).
   * Empty: the header is ignored, and every limit applies to the connection's own address.
   */
  trustedProxies: ['ISOLAB_TRUSTED_PROXIES', addressList, ''],
  /** Learners connected at once from one address: a class behind one school NAT is one address. */
  maxSessionsPerAddress: ['ISOLAB_MAX_SESSIONS_PER_ADDRESS', integer(1, 100_000), '200'],
  /** New sessions one address may start at once, and how many more per minute after that. */
  newSessionBurst: ['ISOLAB_NEW_SESSION_BURST', integer(1, 100_000), '200'],
  newSessionsPerMinute: ['ISOLAB_NEW_SESSIONS_PER_MINUTE', integer(1, 100_000), '60'],
  /** Connections (tabs) one session may hold open. */
  maxConnectionsPerSession: ['ISOLAB_MAX_CONNECTIONS_PER_SESSION', integer(1, 1000), '16'],
  /** Sandboxes started from one address; raise it to the class size when a class shares one. */
  maxSandboxesPerAddress: ['ISOLAB_MAX_SANDBOXES_PER_ADDRESS', integer(1, 10_000), '30'],
  /** Who may read /metrics and the details of /healthz: these addresses, or a bearer token. */
  metricsAllow: ['ISOLAB_METRICS_ALLOW', addressList, '127.0.0.1,::1'],
  metricsToken: ['ISOLAB_METRICS_TOKEN', secret('the metrics token'), ''],
  /**
   * Several lab nodes for one class (README "More than one machine"): the Redis they share, e.g.
   * redis://10.0.0.5:6379. Empty: this lab-server is the whole lab, with no Redis at all.
   */
  redisUrl: ['ISOLAB_REDIS_URL', z.union([z.literal(''), z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')]), ''],
  /** This node's name among the lab nodes, as the router's `server` lines name it. Empty: the host name. */
  nodeId: ['ISOLAB_NODE_ID', z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, 'must be 1 to 63 letters, digits, dots, dashes or underscores')]), ''],
  /** With ISOLAB_REDIS_URL: learners' sandboxes in the whole class, over all nodes. 0: only each node's ISOLAB_MAX_SANDBOXES. */
  classMaxSandboxes: ['ISOLAB_CLASS_MAX_SANDBOXES', integer(0, 1_000_000), '0'],
} as const;

type Variables = typeof variables;
export type LabConfig = { [K in keyof Variables]: z.output<Variables[K][1]> } & {
  /** Origins allowed to open a socket: the public URL's, plus the extra ones. */
  allowedOrigins: string[];
};

/** Where the class record lives: ISOLAB_PROGRESS_DB, or progress.db in the data directory. */
export function progressDbPath(config: Pick<LabConfig, 'progressDb' | 'dataDir'>): string {
  return config.progressDb || `${config.dataDir.replace(/\/$/, '')}/progress.db`;
}

/**
 * The warm pool's base size: ISOLAB_WARM_SANDBOXES, with `auto` sized to this machine.
 *
 * auto = min(8 × cores, ⌈max sandboxes / 6⌉): 16 on a 2-core box with the default limit of 100,
 * i.e. half of a 30-learner class opening a lesson at once gets a warm sandbox, and the other half
 * queues for cold starts (one per core at a time) behind them, so the median learner waits for no
 * `runc run`. What it costs: an idle warm sandbox uses no CPU, and about 5 MiB of host memory
 * (its processes and lab-server's terminal state); filling or refilling the whole pool is 8 starts
 * per core, one per core at a time, done only while no learner waits (2.6-4.4 s on a 2-core box
 * at load 4-11).
 * The sixth keeps a small lab (ISOLAB_MAX_SANDBOXES 12: 2 warm) from starting sandboxes nobody needs.
 */
export function warmPoolBase(config: Pick<LabConfig, 'warmSandboxes' | 'maxSandboxes'>, cores = availableParallelism()): number {
  if (config.warmSandboxes !== 'auto') return Math.min(config.warmSandboxes, config.maxSandboxes);
  return Math.min(8 * cores, Math.ceil(config.maxSandboxes / 6));
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`lab-server configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads the configuration; throws a ConfigError that lists every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LabConfig {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, [name, schema, fallback]] of Object.entries(variables)) {
    const raw = env[name] ?? fallback;
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${name}="${raw}": ${parsed.error.issues.map((i) => i.message).join('; ')} (default: ${fallback || 'empty'})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = values as LabConfig;
  const publicUrl = new URL(config.publicUrl);
  const origins = [publicUrl.origin, ...config.extraOrigins.map((o) => o.replace(/\/$/, ''))];
  // A browser on the lab machine itself may call it localhost or 127.0.0.1; both mean the same page.
  if (publicUrl.hostname === 'localhost' || publicUrl.hostname === '127.0.0.1') {
    for (const host of ['localhost', '127.0.0.1']) origins.push(`${publicUrl.protocol}//${host}${publicUrl.port ? `:${publicUrl.port}` : ''}`);
  }
  config.allowedOrigins = [...new Set(origins)];
  return config;
}
