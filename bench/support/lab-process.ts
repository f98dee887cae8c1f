/**
 * A real lab-server as a child process, for benchmarks: it is measured alone (its RSS is its
 * own) and never touches a lab a developer is running. A thin layer over the tests' LabChild,
 * with benchmark settings (quiet logs, room for many sandboxes) and a stop that removes
 * everything the lab made.
 */
import type { LabClient, ConnectOptions } from '../../lib/lab-client';
import { freePort, labChildEnv, removeLabChildFootprint, startLabChild } from '../../lab-server/test/support/lab-child';

export { freePort };

export interface LabProcess {
  url: string;
  pid: number;
  name: string;
  env: Record<string, string>;
  connect(options?: ConnectOptions): Promise<LabClient>;
  /** Resident memory of lab-server now, in bytes. */
  rss(): number;
  /** What lab-server has written to stdout and stderr (its warnings and errors, at this log level). */
  output(): string;
  stop(): Promise<void>;
}

export async function startLabProcess(overrides: Record<string, string> = {}): Promise<LabProcess> {
  const env = await labChildEnv({ ISOLAB_LOG_LEVEL: 'warn', ISOLAB_MAX_SANDBOXES: '200', ISOLAB_MAX_SANDBOXES_PER_SESSION: '100', ...overrides });
  const lab = await startLabChild(env);
  return {
    url: lab.url,
    pid: lab.process.pid!,
    name: lab.name,
    env,
    connect: (options) => lab.connect(options),
    rss: () => lab.rss(),
    output: () => lab.output(),
    async stop() {
      await lab.stop();
      await removeLabChildFootprint(env);
    },
  };
}
