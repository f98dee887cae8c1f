import headless from '@xterm/headless';
const { Terminal } = headless;
const seq = process.argv[2].replace(/\\e/g, '\x1b');
const t = new Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true });
await new Promise<void>((r) => t.write('warm\r\n', r));
const s = performance.now(); await new Promise<void>((r) => t.write(seq, r)); console.log(JSON.stringify(seq), ((performance.now() - s)).toFixed(1), 'ms');
