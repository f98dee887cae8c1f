/**
 * Where the browser finds lab-server. It is decided when the page is served rather than when it
 * was built, so one build runs anywhere: ISOLAB_LAB_URL names it outright; behind the reverse
 * proxy of deploy/Caddyfile (which marks the requests it forwards with X-Isolab-Same-Origin) it
 * is the page's own origin; otherwise the page's own hostname on lab-server's port (ISOLAB_PORT,
 * 3001). One web app can thus serve both at once: the same lab on https://lab.school and on :3000.
 *
 * The answer comes with the page itself, in a cookie proxy.ts sets on every page response
 * (lesson pages are static HTML, so it cannot be written into them), so a lesson connects to the
 * lab as soon as its script runs instead of asking /api/lab-config first. The endpoint stays for
 * a page whose cookie is missing or was set for another address (say, storage is blocked).
 */
export interface LabConfig {
  /** An explicit URL from ISOLAB_LAB_URL, or null to derive one from the page's location. */
  labUrl: string | null;
  labPort: number;
  /** The page came through the reverse proxy (deploy/Caddyfile), which serves lab-server's socket on the page's own origin. */
  sameOrigin?: boolean;
}

/** The cookie that carries a page's LabConfig, with the host it was answered for. */
export const LAB_CONFIG_COOKIE = 'isolab-lab';

/** The web server's answer for a request: from its environment and the proxy's mark. */
export function labConfigFor(env: Record<string, string | undefined>, headers: Pick<Headers, 'get'>): LabConfig {
  return {
    labUrl: env.ISOLAB_LAB_URL?.trim() || null,
    labPort: Number(env.ISOLAB_PORT) || 3001,
    sameOrigin: headers.get('x-isolab-same-origin') === '1',
  };
}

/**
 * The cookie's value: the config and the host it belongs to (cookies are shared across a host's
 * ports). Plain JSON: Next's \`cookies.set\` URL-encodes it, and labConfigFromCookie decodes it once.
 */
export function labConfigCookieValue(config: LabConfig, host: string): string {
  return JSON.stringify({ ...config, host });
}

/** The config in `cookies` (document.cookie) if it was set for `host`, else undefined. */
export function labConfigFromCookie(cookies: string, host: string): LabConfig | undefined {
  const prefix = `${LAB_CONFIG_COOKIE}=`;
  const raw = cookies
    .split(';')
    .map((cookie) => cookie.trim())
    .find((cookie) => cookie.startsWith(prefix));
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(decodeURIComponent(raw.slice(prefix.length))) as Partial<LabConfig> & { host?: unknown };
    if (parsed.host !== host || typeof parsed.labPort !== 'number' || !(typeof parsed.labUrl === 'string' || parsed.labUrl === null)) return undefined;
    return { labUrl: parsed.labUrl, labPort: parsed.labPort, sameOrigin: parsed.sameOrigin === true };
  } catch {
    return undefined;
  }
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

/**
 * The lab's URL for this page: from the cookie that came with it, or else by asking the web
 * server once per page load (a failed answer is retried on the next call).
 */
export function fetchLabUrl(): Promise<string> {
  const fromPage = labConfigFromCookie(document.cookie, window.location.host);
  if (fromPage) return (cached ??= Promise.resolve(resolveLabUrl(fromPage, window.location)));
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
