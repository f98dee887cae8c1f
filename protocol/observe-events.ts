/**
 * Observing a sandbox live: cgroup meters, the host's view, the namespace map.
 * (Issue 5 fills these catalogs.)
 */
import type { RequestCatalog } from './catalog';

export const observeRequests = {} as const satisfies RequestCatalog;
export const observeMessages = {} as const;
export const observeServerEvents = {} as const;
