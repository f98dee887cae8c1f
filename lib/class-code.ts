/**
 * The class code this browser entered on /join. Every page's socket sends it in the handshake,
 * and a page refused for the lack of it goes to /join, which asks for it once and comes back.
 */
export const CLASS_CODE_KEY = 'isolab.class-code';

export function storedClassCode(): string | undefined {
  try {
    return typeof window === 'undefined' ? undefined : (window.localStorage.getItem(CLASS_CODE_KEY) ?? undefined);
  } catch {
    return undefined;
  }
}

export function storeClassCode(code: string): void {
  try {
    window.localStorage.setItem(CLASS_CODE_KEY, code);
  } catch {
    // Without storage the code is asked for again on the next page; the lab still works.
  }
}

/** In a browser, leaves for /join, which returns to this page once the code is in. */
export function askForClassCode(): void {
  if (typeof window === 'undefined' || window.location.pathname === '/join') return;
  const here = `${window.location.pathname}${window.location.search}`;
  window.location.assign(`/join?next=${encodeURIComponent(here)}`);
}
