/**
 * Reading cgroup control files. The kernel writes three shapes: a single value ("268435456\n" or
 * "max\n"), flat-keyed ("oom_kill 1\n..."), and space-separated pairs (cpu.max: "50000 100000").
 *
 * Reads are async: a lab with many watched sandboxes must not stall the event loop on them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file's text, or undefined if it does not exist (an older kernel, or a cgroup just removed). */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH') return undefined;
    throw error;
  }
}

/** A single-value file as a number; "max" (v2 "no limit") as null. */
export function parseLimit(text: string): number | null {
  const value = text.trim();
  if (value === 'max') return null;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`not a cgroup value: "${value}"`);
  return number;
}

export function parseNumber(text: string): number {
  const value = parseLimit(text);
  if (value === null) throw new Error('expected a number, got "max"');
  return value;
}

/**
 * A flat-keyed file ("key value" per line) as a map. Tolerates the kernel's v1 pids.events typo
 * ("max12", no space) that some releases print.
 */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_.]+?)\s*(-?\d+)$/.exec(line.trim());
    if (match) values.set(match[1], Number(match[2]));
  }
  return values;
}

export async function readNumber(path: string): Promise<number | undefined> {
  const text = await readOptional(path);
  return text === undefined ? undefined : parseNumber(text);
}

export async function readLimit(path: string): Promise<number | null | undefined> {
  const text = await readOptional(path);
  return text === undefined ? undefined : parseLimit(text);
}

export async function readFlatKeyed(path: string): Promise<Map<string, number>> {
  const text = await readOptional(path);
  return text === undefined ? new Map() : parseFlatKeyed(text);
}

/** How deep a learner's child cgroups are followed; the kernel allows more, the lessons need 2. */
const MAX_CGROUP_DEPTH = 8;
/** How many cgroups of one sandbox are read per sample at most. */
const MAX_CGROUPS = 256;

/** A cgroup directory and its descendants (those a learner made), the directory itself first. */
export async function cgroupSubtree(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string, depth: number): Promise<void> => {
    if (found.length >= MAX_CGROUPS) return;
    found.push(path);
    if (depth >= MAX_CGROUP_DEPTH) return;
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return; // removed while we looked
    }
    for (const entry of entries) if (entry.isDirectory()) await visit(join(path, entry.name), depth + 1);
  };
  await visit(dir, 0);
  return found;
}

/** Sums one key of a flat-keyed file over a cgroup and its descendants. */
export async function sumOverSubtree(dir: string, file: string, key: string): Promise<number> {
  let total = 0;
  for (const path of await cgroupSubtree(dir)) total += (await readFlatKeyed(join(path, file))).get(key) ?? 0;
  return total;
}

/** Every process in a cgroup and its descendants (cgroup.procs, read recursively). */
export async function cgroupProcesses(dir: string): Promise<number[]> {
  const texts = await Promise.all((await cgroupSubtree(dir)).map((path) => readOptional(join(path, 'cgroup.procs'))));
  return texts.flatMap((text) => (text ?? '').split('\n').filter(Boolean).map(Number));
}
