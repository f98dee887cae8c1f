/**
 * Runs in the web server before every page is served: it sends the page the lab's address in a
 * cookie (components/connection/lab-config.ts), so a lesson can open its socket the moment its
 * script runs, without a round trip to /api/lab-config first. Pages are static HTML, so this is
 * the one place that answer can be added per request. A lesson page also gets the preloads of its
 * terminal's code (components/terminal/terminal-code-preload.ts).
 */
import { NextResponse, type NextRequest } from 'next/server';
import { LAB_CONFIG_COOKIE, labConfigCookieValue, labConfigFor } from './components/connection/lab-config';
import { lessonSlugOf } from './components/connection/lesson-path';
import { terminalCodePreloadHeader } from './components/terminal/terminal-code-preload';

export function proxy(request: NextRequest) {
  const response = NextResponse.next();
  const host = request.headers.get('host') ?? request.nextUrl.host;
  // Not HttpOnly: the page's script reads it. It holds nothing secret (the same answer /api/lab-config gives anyone).
  response.cookies.set(LAB_CONFIG_COOKIE, labConfigCookieValue(labConfigFor(process.env, request.headers), host), { path: '/', sameSite: 'lax' });
  // A lesson opened by its address: its terminal's code downloads with the page's own (terminal-code-preload.ts). Not
  // for a click on the course map, which fetches the page's data (Next hides its RSC header from here; the browser
  // says what a request is for) and runs none of that code.
  const opened = request.headers.get('sec-fetch-dest') === 'document';
  const preload = opened && lessonSlugOf(request.nextUrl.pathname) ? terminalCodePreloadHeader() : undefined;
  if (preload) response.headers.append('Link', preload);
  return response;
}

export const config = {
  // Pages only: not the API, the build's static files, the icon or the lesson's head start script.
  matcher: ['/((?!api/|_next/static|_next/image|icon\\.svg|favicon\\.ico|lesson-head-start\\.js).*)'],
};
