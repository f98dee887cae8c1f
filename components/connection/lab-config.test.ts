import { NextRequest } from 'next/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { proxy } from '../../proxy';
import { LAB_CONFIG_COOKIE, labConfigCookieValue, labConfigFor, labConfigFromCookie, resolveLabUrl } from './lab-config';

describe('resolveLabUrl', () => {
  it('uses the page hostname and the lab port when no URL is configured', () => {
    expect(resolveLabUrl({ labUrl: null, labPort: 3001 }, { protocol: 'http:', hostname: '192.168.1.20' })).toBe('http://192.168.1.20:3001');
    expect(resolveLabUrl({ labUrl: null, labPort: 4001 }, { protocol: 'https:', hostname: 'lab.school.example' })).toBe('https://lab.school.example:4001');
  });

  it('brackets an IPv6 page hostname', () => {
    expect(resolveLabUrl({ labUrl: null, labPort: 3001 }, { protocol: 'http:', hostname: '::1' })).toBe('http://[::1]:3001');
  });

  it('prefers the configured URL, without a trailing slash', () => {
    expect(resolveLabUrl({ labUrl: 'https://lab.example/', labPort: 3001 }, { protocol: 'http:', hostname: 'localhost' })).toBe('https://lab.example');
  });

  it("uses the page's own origin when the page came through the reverse proxy", () => {
    expect(resolveLabUrl({ labUrl: null, labPort: 3001, sameOrigin: true }, { protocol: 'https:', hostname: 'lab.school', host: 'lab.school' })).toBe('https://lab.school');
    expect(resolveLabUrl({ labUrl: null, labPort: 3001, sameOrigin: true }, { protocol: 'https:', hostname: 'localhost', host: 'localhost:3510' })).toBe('https://localhost:3510');
  });
});

describe('the lab config that comes with the page', () => {
  const config = { labUrl: null, labPort: 3701, sameOrigin: false };

  /** What the browser's document.cookie holds after a page response: `name=value` as the Set-Cookie header sent it. */
  const asDocumentCookie = (name: string, value: string) => `${name}=${encodeURIComponent(value)}`;

  afterEach(() => vi.unstubAllEnvs());

  it('is read back from the cookie for the host it was set for', () => {
    const cookies = `other=1; ${asDocumentCookie(LAB_CONFIG_COOKIE, labConfigCookieValue(config, '127.0.0.1:3700'))}; theme=dark`;
    expect(labConfigFromCookie(cookies, '127.0.0.1:3700')).toEqual(config);
  });

  it('is read back from the Set-Cookie header proxy.ts sends with a page (else the page asks /api/lab-config)', () => {
    vi.stubEnv('ISOLAB_PORT', '3701');
    vi.stubEnv('ISOLAB_LAB_URL', '');
    const response = proxy(new NextRequest('http://127.0.0.1:3700/lessons/pid', { headers: { host: '127.0.0.1:3700' } }));
    const setCookie = response.headers.get('set-cookie') ?? '';
    // The browser keeps `name=value`, exactly as sent, for document.cookie.
    const cookie = setCookie.split(';')[0];
    expect(cookie.startsWith(`${LAB_CONFIG_COOKIE}=`)).toBe(true);
    expect(labConfigFromCookie(`theme=dark; ${cookie}`, '127.0.0.1:3700')).toEqual(config);
  });

  it('is ignored when it was set for another port of the same host (cookies do not keep ports apart)', () => {
    const cookies = asDocumentCookie(LAB_CONFIG_COOKIE, labConfigCookieValue(config, 'lab.school:3000'));
    expect(labConfigFromCookie(cookies, 'lab.school')).toBeUndefined();
  });

  it('is ignored when missing or mangled, so the page asks /api/lab-config instead', () => {
    expect(labConfigFromCookie('', 'lab.school')).toBeUndefined();
    expect(labConfigFromCookie(`${LAB_CONFIG_COOKIE}=%7Bnot-json`, 'lab.school')).toBeUndefined();
    expect(labConfigFromCookie(`${LAB_CONFIG_COOKIE}=${encodeURIComponent('{"host":"lab.school","labPort":"3001","labUrl":null}')}`, 'lab.school')).toBeUndefined();
  });

  it('carries ISOLAB_LAB_URL, ISOLAB_PORT and the reverse proxy mark', () => {
    const headers = new Headers({ 'x-isolab-same-origin': '1' });
    expect(labConfigFor({ ISOLAB_LAB_URL: ' https://lab.example ', ISOLAB_PORT: '4001' }, headers)).toEqual({ labUrl: 'https://lab.example', labPort: 4001, sameOrigin: true });
    expect(labConfigFor({}, new Headers())).toEqual({ labUrl: null, labPort: 3001, sameOrigin: false });
  });
});
