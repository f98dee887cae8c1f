/**
 * Structured logs: one JSON object per line on stdout, so an operator can grep or ship them.
 * Error codes from LabError appear as `code`, which is what an operator searches for.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line, e.g. the sandbox id. */
  child(fields: LogFields): Logger;
}

export function createLogger(
  level: LogLevel = 'info',
  base: LogFields = {},
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  const emit = (lineLevel: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lineLevel] < LEVELS[level]) return;
    const entry: LogFields = { time: new Date().toISOString(), level: lineLevel, msg, ...base, ...fields };
    if (entry.err instanceof Error) entry.err = { message: entry.err.message, code: (entry.err as { code?: unknown }).code, stack: entry.err.stack };
    write(JSON.stringify(entry));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

/** For unit tests and tools that do not want log lines. */
export const silentLogger: Logger = createLogger('error', {}, () => {});
