/**
 * Builds public/lesson-head-start.js, the lesson page's head start
 * (components/connection/head-start.ts): a script of its own, not one of Next.js's chunks, so that
 * it runs as soon as it arrives instead of after Next's entry chunks. `npm run build`, `npm run
 * dev` and scripts/start.ts run this before Next builds. The file is generated (.gitignore).
 */
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
export const HEAD_START_OUTPUT = join(ROOT, 'public/lesson-head-start.js');

export async function buildHeadStart(): Promise<void> {
  await build({
    stdin: {
      contents: "import { startHeadStart } from './components/connection/head-start-script';\nstartHeadStart();\n",
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // The browsers Next.js builds for.
    target: ['chrome111', 'edge111', 'firefox111', 'safari16.4'],
    minify: true,
    legalComments: 'none',
    outfile: HEAD_START_OUTPUT,
    logLevel: 'warning',
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildHeadStart();
