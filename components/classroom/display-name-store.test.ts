import { describe, expect, it } from 'vitest';
import { DisplayName } from '../../protocol/common';
import { DISPLAY_NAME_STORAGE_KEY, DisplayNameStore } from './display-name-store';

function memoryStorage(stored?: unknown) {
  const values = new Map<string, string>(stored === undefined ? [] : [[DISPLAY_NAME_STORAGE_KEY, JSON.stringify(stored)]]);
  return { getItem: (key: string) => values.get(key) ?? null, setItem: (key: string, value: string) => void values.set(key, value), removeItem: (key: string) => void values.delete(key) };
}

describe('the display name store', () => {
  it('takes a name exactly when lab-server would, and keeps it as lab-server does', () => {
    const names = ['Ada', '  Grace Hopper  ', 'ＡＤＡ', '', '   ', 'x'.repeat(41), 'x'.repeat(300), `Bob\u202E`, `B\u200Bob`, 'line\u2028break', ' INSTRUCTOR! ', 'In-struc-tor', 'Zoë'];
    for (const name of names) {
      const store = new DisplayNameStore(memoryStorage());
      const problem = store.choose(name);
      const server = DisplayName.safeParse(name);
      expect(problem === undefined, `"${name}"`).toBe(server.success);
      if (server.success) expect(store.get().chosen).toBe(server.data);
    }
  });

  it('says why a name cannot be used', () => {
    const store = new DisplayNameStore(memoryStorage());
    expect(store.choose('Instructor')).toBe('That name cannot be used: "Instructor" is reserved for the instructor.');
    expect(store.choose('  ')).toBe('Type a name first.');
  });

  it('keeps what is still valid of what an older version stored, and drops the rest', () => {
    expect(new DisplayNameStore(memoryStorage({ chosen: `evil\u202Egnp.exe`, generated: 'swift-otter', asked: true })).get()).toEqual({ generated: 'swift-otter', asked: true });
    expect(new DisplayNameStore(memoryStorage({ chosen: 'Ada', generated: 42, asked: 'yes' })).get()).toEqual({ chosen: 'Ada', asked: false });
    expect(new DisplayNameStore(memoryStorage(['not', 'an', 'object'])).get()).toEqual({ asked: false });
  });
});
