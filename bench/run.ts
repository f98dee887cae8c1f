/**
 * `npm run bench`: runs every `bench/*.bench.ts` in turn, each in its own process (so one's
 * memory does not colour the next one's figures), prints their tables as they go, and ends with
 * all results as one JSON document (also saved to bench/results/latest.json, or to
 * latest-<filters>.json for a filtered run).
 *
 * A bench file prints its table to stdout and one line `BENCH_RESULT {json}` with its figures.
 * `npm run bench -- spawn echo` runs only the files whose names contain those words.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(process.cwd(), 'bench');
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort();

const results: Record<string, unknown> = {};
let failed = 0;
for (const file of files) {
  console.log(`\n━━ ${file} ${'━'.repeat(Math.max(0, 70 - file.length))}`);
  const outcome = await runBench(join(dir, file));
  if (outcome.code !== 0) failed++;
  results[file.replace(/\.bench\.ts$/, '')] = outcome.result ?? { error: `exited with code ${outcome.code}` };
}

const document = { date: new Date().toISOString(), host: { cpus: (await import('node:os')).cpus().length, node: process.version }, results };
mkdirSync(join(dir, 'results'), { recursive: true });
// A filtered run writes its own file, so that it never replaces the figures of a full run.
const resultFile = filters.length === 0 ? 'latest.json' : `latest-${filters.join('-').replace(/[^a-z0-9-]/gi, '')}.json`;
writeFileSync(join(dir, 'results', resultFile), JSON.stringify(document, null, 2) + '\n');
console.log('\n━━ all results (JSON) ' + '━'.repeat(50));
console.log(JSON.stringify(document, null, 2));
process.exit(failed > 0 ? 1 : 0);

function runBench(path: string): Promise<{ code: number; result?: unknown }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let result: unknown;
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('BENCH_RESULT ')) result = JSON.parse(line.slice('BENCH_RESULT '.length));
        else console.log(line);
      }
    });
    child.on('close', (code) => resolve({ code: code ?? 1, result }));
  });
}
