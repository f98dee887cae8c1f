/**
 * Where the browser finds lab-server, decided when the page is served rather than when it was
 * built, so one build runs anywhere. ISOLAB_LAB_URL names it outright (e.g. behind a proxy);
 * otherwise the browser uses the page's own hostname on lab-server's port (ISOLAB_PORT, 3001).
 */
import { NextResponse } from 'next/server';
import type { LabConfig } from '@/components/terminal/lab-config';

export const dynamic = 'force-dynamic';

export function GET() {
  const config: LabConfig = {
    labUrl: process.env.ISOLAB_LAB_URL?.trim() || null,
    labPort: Number(process.env.ISOLAB_PORT) || 3001,
  };
  return NextResponse.json(config, { headers: { 'cache-control': 'no-store' } });
}
