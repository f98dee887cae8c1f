/**
 * The instructor's keystroke echo, measured from a process of its own (bench/cluster.bench.ts
 * runs it). The benchmark's own process also holds a thousand followers, each parsing every
 * echo; timed there, the instructor's echo would wait behind them and measure the benchmark.
 *
 * argv: router URL, the instructor's session token, node, sandbox id, terminal id, keystrokes.
 * Prints the echo times (ms) as one JSON array.
 */
import { LabClient } from '../../lib/lab-client';
import { TEST_ORIGIN } from '../../lab-server/test/support/test-lab';
import { isolabTerminal, measureEcho } from '../support/terminal-clients';

/** A fast typist: about eight keys a second. */
const TYPING_INTERVAL_MS = 120;

const [url, token, node, sandboxId, terminalId, keystrokes] = process.argv.slice(2);
const client = await LabClient.connect(url, { origin: TEST_ORIGIN, token, node });
const terminal = await isolabTerminal(client, sandboxId, terminalId);
await measureEcho(terminal, 10);
// Typing at a person's pace: each keystroke goes out to every follower, and at a benchmark's
// pace (a key every 10 ms) the fan-out alone would fill the machine's two cores.
console.log(JSON.stringify(await measureEcho(terminal, Number(keystrokes), { intervalMs: TYPING_INTERVAL_MS })));
client.close();
process.exit(0);
