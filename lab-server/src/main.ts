/**
 * lab-server's entry point: `npm run lab-server` (or as part of `npm start`).
 *
 * Exit codes: 0 after a clean shutdown, 1 when the host is not ready or the class record cannot
 * be opened (the message says what to do), 2 for invalid configuration.
 */
import { LessonError } from '../../lib/lessons/parse-lesson';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { preflight } from './preflight';
import { startLabServer } from './server';
import { ProgressDbError } from './progress/progress-db';
import { IdentitiesBusyError, StateDirBusyError } from './state-lock';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { service: 'lab-server' });

  const { problems, facts } = preflight(config);
  for (const problem of problems.filter((p) => p.level === 'warn')) logger.warn(problem.message, { code: problem.code });
  const errors = problems.filter((p) => p.level === 'error');
  if (errors.length > 0) {
    for (const problem of errors) logger.error(problem.message, { code: problem.code });
    console.error(`\nlab-server cannot start:\n${errors.map((p) => `  ✗ ${p.message} [${p.code}]`).join('\n')}\n`);
    process.exit(1);
  }

  let server;
  try {
    server = await startLabServer({
      config,
      logger,
      cgroupHost: facts.cgroupHost!,
      swapAccounting: facts.swapAccounting,
      runcVersion: facts.runcVersion ?? 'unknown',
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof StateDirBusyError || error instanceof IdentitiesBusyError || error instanceof ProgressDbError) {
      logger.error(error.message, { code: error.code });
      console.error(`\nlab-server cannot start:\n  ✗ ${error.message} [${error.code}]\n`);
      process.exit(1);
    }
    if (error instanceof LessonError) {
      const message = `A lesson cannot be read, so lab-server does not know its checks: ${error.message}. Fix the lesson (npm test names the problem too).`;
      logger.error(message, { code: 'LESSON_INVALID' });
      console.error(`\nlab-server cannot start:\n  ✗ ${message} [LESSON_INVALID]\n`);
      process.exit(1);
    }
    if (code === 'EADDRINUSE') {
      const message = `Port ${config.port} is busy: another lab-server may already be running. Stop it, or set ISOLAB_PORT to a free port.`;
      logger.error(message, { code: 'PORT_BUSY' });
      console.error(`\nlab-server cannot start:\n  ✗ ${message} [PORT_BUSY]\n`);
      process.exit(1);
    }
    throw error;
  }

  // Signals first: whoever reacts to the ready lines may stop the server at once.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down: closing every sandbox', { signal });
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  logger.info('lab-server ready', {
    url: server.url,
    cgroupMode: facts.cgroupHost!.mode,
    runc: facts.runcVersion,
    allowedOrigins: config.allowedOrigins,
    sandboxHostUids: `${server.hostUids.first}-${server.hostUids.last}`,
    limits: { memory: config.memoryLimit, pids: config.pidsLimit, cpus: config.cpuLimit },
  });

  // Like Jupyter's token URL: the fragment (#) never reaches a server log or a Referer header.
  const instructorUrl = `${config.publicUrl.replace(/\/$/, '')}/instructor#token=${server.instructorToken}`;
  console.log(`\n  Instructor dashboard: ${instructorUrl}\n  (keep this link private; set ISOLAB_INSTRUCTOR_TOKEN to keep it across restarts)\n`);
}

main().catch((error: unknown) => {
  console.error('lab-server crashed while starting:', error);
  process.exit(1);
});
