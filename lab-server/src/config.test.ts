import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseByteSize, progressDbPath, warmPoolBase } from './config';

describe('loadConfig', () => {
  it('has defaults that work on a single box', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3001, memoryLimit: 256 * 1024 ** 2, pidsLimit: 256, cpuLimit: 0.5, graceMs: 60_000, maxSandboxes: 100 });
    expect(config.allowedOrigins).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000']);
  });

  it('reads sizes, seconds and lists', () => {
    const config = loadConfig({ ISOLAB_MEMORY_LIMIT: '1g', ISOLAB_GRACE_SECONDS: '5', ISOLAB_PUBLIC_URL: 'https://lab.school.example', ISOLAB_ALLOWED_ORIGINS: 'https://a.example, https://b.example/' });
    expect(config.memoryLimit).toBe(1024 ** 3);
    expect(config.graceMs).toBe(5000);
    expect(config.allowedOrigins).toEqual(['https://lab.school.example', 'https://a.example', 'https://b.example']);
  });

  it('lists every bad variable at once, with what to write instead', () => {
    let error: unknown;
    try {
      loadConfig({ ISOLAB_MEMORY_LIMIT: 'lots', ISOLAB_PORT: '99999', ISOLAB_CPU_LIMIT: '0' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('ISOLAB_MEMORY_LIMIT="lots": "lots" is not a size; write it like 256M or 1G');
    expect(message).toContain('ISOLAB_PORT="99999"');
    expect(message).toContain('ISOLAB_CPU_LIMIT="0"');
    expect(message).toContain('(default: 256M)');
  });
});

describe('progressDbPath', () => {
  it('keeps the class record in the data directory unless ISOLAB_PROGRESS_DB names a file', () => {
    expect(progressDbPath(loadConfig({}))).toBe('/var/lib/isolab/progress.db');
    expect(progressDbPath(loadConfig({ ISOLAB_DATA_DIR: '/srv/isolab/' }))).toBe('/srv/isolab/progress.db');
    expect(progressDbPath(loadConfig({ ISOLAB_DATA_DIR: '/srv/isolab', ISOLAB_PROGRESS_DB: '/backup/record.db' }))).toBe('/backup/record.db');
  });
});

describe('warmPoolBase', () => {
  it('sizes the pool to the box unless told, and never beyond the global limit', () => {
    // Half of a 30-learner class on a 2-core box with the default limit of 100.
    expect(warmPoolBase(loadConfig({}), 2)).toBe(16);
    expect(warmPoolBase(loadConfig({}), 1)).toBe(8);
    expect(warmPoolBase(loadConfig({}), 64)).toBe(17);
    expect(warmPoolBase(loadConfig({ ISOLAB_MAX_SANDBOXES: '20' }), 16)).toBe(4);
    expect(warmPoolBase(loadConfig({ ISOLAB_MAX_SANDBOXES: '1' }), 2)).toBe(1);
    expect(warmPoolBase(loadConfig({ ISOLAB_WARM_SANDBOXES: '0' }), 2)).toBe(0);
    expect(warmPoolBase(loadConfig({ ISOLAB_WARM_SANDBOXES: '50', ISOLAB_MAX_SANDBOXES: '10' }), 2)).toBe(10);
    expect(() => loadConfig({ ISOLAB_WARM_SANDBOXES: 'many' })).toThrow('ISOLAB_WARM_SANDBOXES="many"');
  });
});

describe('parseByteSize', () => {
  it.each([
    ['256M', 256 * 1024 ** 2],
    ['64m', 64 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['512KiB', 512 * 1024],
    ['4096', 4096],
    ['many', undefined],
  ])('%s', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));
});
