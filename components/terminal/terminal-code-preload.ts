/**
 * A lesson opened by its address asks for the terminal's code with the page itself.
 * instrumentation-client.ts imports the terminal (xterm.js, the largest file the first prompt
 * needs), the early connection and the early screen dynamically, so that other pages never load
 * them; but a dynamic import's chunks are only requested once Next's entry chunks have arrived and
 * run: a round trip and a download after them, on the way to the first prompt. So proxy.ts sends
 * a lesson page with a `Link: <…>; rel=preload; as=script` header for each of those chunks: they
 * download beside the entry chunks, and Turbopack's `<script>` for each (no crossorigin
 * attribute, as the preload) takes the preloaded file instead of fetching it again.
 * Low priority, as Next's own async scripts: at the default (high) they went out first on the
 * browser's six connections to the web server, the head start's socket (/lesson-head-start.js)
 * opened later and the prompt came later than without them (bench, alternated pairs).
 *
 * A header, not a preload rendered into the page: the page's render also goes into the data a
 * click from the course map loads, and its preloads would fetch there chunks nobody runs
 * (instrumentation-client.ts runs once per page load, not on a click).
 *
 * The chunks' names change with every build, so they are read from the build the server runs:
 * the chunk files that Next's root main chunks (build-manifest.json's rootMainFiles, which carry
 * instrumentation-client.ts) name are the ones their dynamic imports load; Turbopack writes each
 * as the string "static/chunks/<name>.js" in the loader it makes for the import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A chunk's path in the build directory, as Turbopack writes it in a loader. */
const CHUNK_PATH = /"(static\/chunks\/[\w.-]+\.js)"/g;

/** The chunks that the dynamic imports in `rootMainFiles` load, given each file's text; entry chunks themselves left out. */
export function dynamicImportChunks(rootMainFiles: string[], readChunk: (path: string) => string): string[] {
  const found = new Set<string>();
  for (const file of rootMainFiles) {
    for (const [, path] of readChunk(file).matchAll(CHUNK_PATH)) if (!rootMainFiles.includes(path)) found.add(path);
  }
  return [...found];
}

/** The `Link` header that preloads these chunks (build paths), or undefined for none. */
export function preloadHeader(chunks: string[]): string | undefined {
  return chunks.length ? chunks.map((path) => `</_next/${path}>; rel=preload; as=script; fetchpriority=low`).join(', ') : undefined;
}

/**
 * Reads the chunk list from the build in `distDir`, less the chunks a lesson page's HTML already
 * lists as scripts (the page's own code shares some): a preload of those gains nothing and takes
 * one more of the browser's connections to the server while the head start's script waits.
 */
export function readTerminalCodeChunks(distDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(distDir, 'build-manifest.json'), 'utf8')) as { rootMainFiles?: unknown };
  const rootMainFiles = Array.isArray(manifest.rootMainFiles) ? manifest.rootMainFiles.filter((file): file is string => typeof file === 'string') : [];
  const chunks = dynamicImportChunks(rootMainFiles, (path) => readFileSync(join(distDir, path), 'utf8'));
  const lessons = join(distDir, 'server/app/lessons');
  const page = readdirSync(lessons).find((name) => name.endsWith('.html'));
  const html = page ? readFileSync(join(lessons, page), 'utf8') : '';
  return chunks.filter((path) => !html.includes(`"/_next/${path}"`));
}

let header: { value: string | undefined } | undefined;

/**
 * The lesson page's `Link` header for the build the server runs, read once; none under `next
 * dev` (its chunks are made on demand) or if the build cannot be read (the page then loads the
 * chunks after its entry chunks, as without it; the server says so once).
 */
export function terminalCodePreloadHeader(): string | undefined {
  if (process.env.NODE_ENV !== 'production') return undefined;
  if (header) return header.value;
  // Read at run time, from the build being served: the build's file tracing leaves it alone.
  const distDir = join(/* turbopackIgnore: true */ process.cwd(), process.env.ISOLAB_NEXT_DIST || '.next');
  try {
    header = { value: preloadHeader(readTerminalCodeChunks(distDir)) };
  } catch (error) {
    console.warn(`Lesson pages will not preload the terminal's code: the build in ${distDir} could not be read (${(error as Error).message}).`);
    header = { value: undefined };
  }
  return header.value;
}
