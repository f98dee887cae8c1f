import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preloadHeader, readTerminalCodeChunks } from './terminal-code-preload';

/** A build as Turbopack writes it: the instrumentation's root main chunk holds a loader per dynamic import. */
function build(): string {
  const dist = mkdtempSync(join(tmpdir(), 'isolab-preload-'));
  mkdirSync(join(dist, 'static/chunks'), { recursive: true });
  const rootMainFiles = ['static/chunks/instr.js', 'static/chunks/framework.js', 'static/chunks/turbopack-1.js'];
  writeFileSync(join(dist, 'build-manifest.json'), JSON.stringify({ rootMainFiles, polyfillFiles: ['static/chunks/poly.js'] }));
  writeFileSync(
    join(dist, 'static/chunks/instr.js'),
    '(globalThis.TURBOPACK||(globalThis.TURBOPACK=[])).push(["object"==typeof document?document.currentScript:void 0,' +
      '30375,e=>{e.v(r=>Promise.all(["static/chunks/screen.js","static/chunks/socket.js"].map(r=>e.l(r))).then(()=>r(11732)))},' +
      '9107,e=>{e.v(r=>Promise.all(["static/chunks/early.js","static/chunks/socket.js"].map(r=>e.l(r))).then(()=>r(5319)))},' +
      '57918,e=>{e.v(r=>Promise.all(["static/chunks/terminal.js","static/chunks/xterm.js"].map(r=>e.l(r))).then(()=>r(65756)))}]);',
  );
  writeFileSync(join(dist, 'static/chunks/framework.js'), 'a.push(["static/chunks/framework.js",1,()=>{}]);');
  writeFileSync(join(dist, 'static/chunks/turbopack-1.js'), 'const p="static/chunks/";');
  // A lesson page, rendered by the build: it lists the socket's chunk (the page's own code uses it) as a script.
  mkdirSync(join(dist, 'server/app/lessons'), { recursive: true });
  writeFileSync(join(dist, 'server/app/lessons/pid.html'), '<head><script src="/_next/static/chunks/instr.js" async=""></script><script src="/_next/static/chunks/socket.js" async=""></script></head>');
  return dist;
}

describe("a lesson page's preload of the terminal's code", () => {
  it('names each chunk the root main chunks’ dynamic imports load, once, less those the lesson page lists as scripts', () => {
    expect(readTerminalCodeChunks(build())).toEqual(['static/chunks/screen.js', 'static/chunks/early.js', 'static/chunks/terminal.js', 'static/chunks/xterm.js']);
  });

  it('is a Link header the browser preloads scripts from, as Turbopack then asks for them (no crossorigin), queued with the page’s own scripts', () => {
    expect(preloadHeader(['static/chunks/a.js', 'static/chunks/b.js'])).toBe(
      '</_next/static/chunks/a.js>; rel=preload; as=script; fetchpriority=low, </_next/static/chunks/b.js>; rel=preload; as=script; fetchpriority=low',
    );
    expect(preloadHeader([])).toBeUndefined();
  });

  it('fails loudly on a build it cannot read (the server then sends no preload and says so)', () => {
    expect(() => readTerminalCodeChunks(join(tmpdir(), 'isolab-no-such-build'))).toThrow(/build-manifest\.json/);
  });
});
