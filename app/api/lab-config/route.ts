/**
 * Where the browser finds lab-server, decided when the page is served rather than when it was
 * built, so one build runs anywhere. ISOLAB_LAB_URL names it outright; behind the reverse proxy
 * of deploy/Caddyfile (which marks the requests it forwards with X-Isolab-Same-Origin) it is the
 * page's own origin; otherwise the page's own hostname on lab-server's port (ISOLAB_PORT, 3001).
 * One web app can thus serve both at once: the same lab on https://lab.school and on :3000.
 */
import { NextResponse } from 'next/server';
import type { LabConfig } from '@/components/connection/lab-config';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  const config: LabConfig = {
    labUrl: process.env.ISOLAB_LAB_URL?.trim() || null,
    labPort: Number(process.env.ISOLAB_PORT) || 3001,
    sameOrigin: request.headers.get('x-isolab-same-origin') === '1',
  };
  return NextResponse.json(config, { headers: { 'cache-control': 'no-store' } });
}
