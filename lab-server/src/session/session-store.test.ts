import { describe, expect, it } from 'vitest';
import { SessionToken } from '../../../protocol';
import { generateDisplayName, MemorySessionStore } from './session-store';

describe('MemorySessionStore', () => {
  it('issues unguessable tokens that the protocol accepts, and finds sessions by them', () => {
    const store = new MemorySessionStore();
    const a = store.issue('Ada');
    const b = store.issue();
    expect(SessionToken.safeParse(a.token).success).toBe(true);
    expect(a.token).not.toBe(b.token);
    expect(store.find(a.token)).toBe(a.session);
    expect(a.session.displayName).toBe('Ada');
    expect(b.session.displayName).toMatch(/^[a-z]+-[a-z]+$/);
    expect(store.find('x'.repeat(43))).toBeUndefined();
    expect(store.byId(b.session.id)).toBe(b.session);
  });

  it('forgets sessions unseen for too long, unless they are connected or own a sandbox', () => {
    const store = new MemorySessionStore();
    const old = store.issue();
    const busy = store.issue();
    const connected = store.issue();
    old.session.lastSeenAt = busy.session.lastSeenAt = connected.session.lastSeenAt = Date.now() - 10_000;
    connected.session.connections = 1;
    expect(store.sweep(5_000, (session) => session === busy.session)).toBe(1);
    expect(store.find(old.token)).toBeUndefined();
    expect(store.find(busy.token)).toBe(busy.session);
    expect(store.find(connected.token)).toBe(connected.session);
  });

  it('generates friendly names', () => {
    expect(new Set(Array.from({ length: 50 }, generateDisplayName)).size).toBeGreaterThan(10);
  });
});
