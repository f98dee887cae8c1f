import { describe, expect, it } from 'vitest';
import { resolveLabUrl } from './lab-config';

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
