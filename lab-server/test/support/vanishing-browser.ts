/**
 * A stand-in for a browser tab, run as its own process by faults.test.ts so that the test can
 * make it vanish (SIGKILL: the OS closes its socket; SIGSTOP: it stops answering, like a laptop
 * whose network dropped). It opens a sandbox, attaches to its terminal, prints the sandbox id as
 * one JSON line, and then only keeps the connection.
 *
 * Usage: node --import tsx lab-server/test/support/vanishing-browser.ts <lab url> <key>
 */
import { LabClient } from '../../../lib/lab-client';

/** The origin test labs allow (see test-lab.ts; not imported, so that this process stays small). */
const TEST_ORIGIN = 'http://localhost:3000';

const [url, key] = process.argv.slice(2);
const client = await LabClient.connect(url, { origin: TEST_ORIGIN });
const sandbox = await client.request('sandbox:open', { key });
await client.request('terminal:open', { sandboxId: sandbox.sandboxId, terminalId: sandbox.terminals[0].terminalId, cols: 80, rows: 24 });
process.stdout.write(`${JSON.stringify({ sandboxId: sandbox.sandboxId })}\n`);
setInterval(() => {}, 60_000);
