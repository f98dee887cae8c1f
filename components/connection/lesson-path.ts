/** The lesson a page address shows (`/lessons/<slug>`), or undefined. Imports nothing: instrumentation-client.ts reads it on every page. */
export function lessonSlugOf(pathname: string): string | undefined {
  const match = /^\/lessons\/([^/]+)\/?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}
