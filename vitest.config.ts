import { defineConfig } from 'vitest/config';

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
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
