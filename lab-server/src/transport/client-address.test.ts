import { describe, expect, it } from 'vitest';
import { addressSet, clientAddress, limitKey } from './client-address';

describe('clientAddress', () => {
  const trusted = addressSet(['127.0.0.1', '10.0.0.0/8']);

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress('203.0.113.5', '198.51.100.1', trusted)).toBe('203.0.113.5');
  });

  it('believes the hop a trusted proxy appended, and skips trusted proxies in a chain', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:127.0.0.1', 'forged, 198.51.100.1, 10.1.2.3', trusted)).toBe('198.51.100.1');
  });

  it('stops at a malformed hop rather than believe what lies beyond it', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.9, garbage', trusted)).toBe('127.0.0.1');
  });
});

describe('limitKey', () => {
  it('counts IPv4 addresses alone and IPv6 clients by their /64', () => {
    expect(limitKey('198.51.100.1')).toBe('198.51.100.1');
    expect(limitKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(limitKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(limitKey('::1')).toBe('0:0:0:0::/64');
  });
});
