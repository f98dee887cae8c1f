/**
 * Where the browser finds lab-server (components/connection/lab-config.ts says how it is
 * decided). Pages get the same answer in a cookie (proxy.ts); this endpoint is for a page without
 * it, and it is what scripts/start.ts polls to know the web app is up.
 */
import { NextResponse } from 'next/server';
import { labConfigFor } from '@/components/connection/lab-config';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return NextResponse.json(labConfigFor(process.env, request.headers), { headers: { 'cache-control': 'no-store' } });
}
