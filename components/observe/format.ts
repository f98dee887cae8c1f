/** Numbers as a learner reads them on a meter. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** 0.5 → "0.5 CPU", 0.123 → "0.12 CPU". */
export function formatCpus(cpus: number): string {
  return `${Number(cpus.toFixed(2))} CPU`;
}

/** A share of a limit as a whole percentage, or undefined without a limit. */
export function percentOf(value: number, limit: number | null): number | undefined {
  if (limit === null || limit <= 0) return undefined;
  return Math.min(100, Math.round((value / limit) * 100));
}

/** "12:03:45" in the learner's locale, for the event timeline. */
export function formatClock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
