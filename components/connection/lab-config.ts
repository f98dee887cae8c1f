/**
 * Finds the lab-server URL at runtime (see app/api/lab-config/route.ts for why it is not baked
 * into the build).
 */
export interface LabConfig {
  /** An explicit URL from ISOLAB_LAB_URL, or null to derive one from the page's location. */
  labUrl: string | null;
  labPort: number;
  /** The page came through the reverse proxy (deploy/Caddyfile), which serves lab-server's socket on the page's own origin. */
  sameOrigin?: boolean;
}

/** The page at `location` talks to `config.labUrl`, to its own origin behind the proxy, or to its own hostname on the lab's port. */
export function resolveLabUrl(config: LabConfig, location: Pick<Location, 'protocol' | 'hostname'> & Partial<Pick<Location, 'host'>>): string {
  if (config.labUrl) return config.labUrl.replace(/\/+$/, '');
  if (config.sameOrigin && location.host) return `${location.protocol}//${location.host}`;
  // An IPv6 literal needs its brackets back in a URL.
  const host = location.hostname.includes(':') && !location.hostname.startsWith('[') ? `[${location.hostname}]` : location.hostname;
  return `${location.protocol}//${host}:${config.labPort}`;
}

let cached: Promise<string> | undefined;

/** Asks the web server once per page load; a failed answer is retried on the next call. */
export function fetchLabUrl(): Promise<string> {
  cached ??= fetch('/api/lab-config', { cache: 'no-store' })
    .then((response) => {
      if (!response.ok) throw new Error(`the web server answered ${response.status}`);
      return response.json() as Promise<LabConfig>;
    })
    .then((config) => resolveLabUrl(config, window.location))
    .catch((error: unknown) => {
      cached = undefined;
      throw new Error(`Could not ask the web server where the lab is (${(error as Error).message}).`);
    });
  return cached;
}
