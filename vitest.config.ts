import { defineConfig } from 'vitest/config';

/** ISOLAB_TEST_SLOWDOWN, as lab-server/test/support/slowdown.ts reads it (a config file imports no local modules: Vite's native loader does not take them). */
const slowdown = Math.max(1, Number(process.env.ISOLAB_TEST_SLOWDOWN) || 1);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['protocol/**/*.test.ts', 'lib/**/*.test.ts', 'scripts/**/*.test.ts', 'lab-server/src/**/*.test.ts', 'components/**/*.test.ts', 'lessons/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'server',
          include: ['lab-server/test/**/*.test.ts'],
          globalSetup: ['lab-server/test/support/global-setup.ts'],
          environment: 'node',
          // node-pty and runc child processes are happiest in forked workers.
          pool: 'forks',
          maxWorkers: 2,
          // Longer on a slow host, such as the cgroup v2 stage's emulated VM.
          testTimeout: 60_000 * slowdown,
          hookTimeout: 60_000 * slowdown,
        },
      },
    ],
  },
});
