// `npm run load -- --lab-cpu-profile <file>`: loaded into lab-server with `--import` (NODE_OPTIONS
// refuses --cpu-prof), it profiles lab-server's main thread from its start and writes the
// profile (Chrome DevTools' .cpuprofile) when it exits. Its spawner inherits NODE_OPTIONS and is
// left alone: only lab-server/src/main.ts is profiled.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.ISOLAB_BENCH_CPU_PROFILE;
if (file && process.argv[1]?.endsWith('main.ts')) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms between samples (V8's default is 1 ms too; said here because the figures depend on it).
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // An in-thread session answers synchronously, so the profile is written before the process ends.
  process.on('exit', () => session.post('Profiler.stop', (error, result) => error || writeFileSync(file, JSON.stringify(result.profile))));
}
