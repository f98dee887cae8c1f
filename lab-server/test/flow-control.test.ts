/**
 * Flow control: output goes out until a viewer is a high-water mark behind, then the pty is
 * paused, so `yes` cannot fill lab-server's memory; acks resume it, and Ctrl-C works mid-flood.
 */
import { describe, expect, it, vi } from 'vitest';
import { FLOW_CONTROL } from '../../protocol';
import type { LabClient } from '../../lib/lab-client';
import { openShell } from './support/shell';
import { useTestLab, type TestLab, sandboxById } from './support/test-lab';
import { sleep } from './support/sleep';

let lab: TestLab;
let client: LabClient;
useTestLab({}, (context) => ({ lab, client } = context));

describe('flow control', () => {
  it('stops sending to a viewer that does not ack, and memory stays flat', async () => {
    const { sandbox, term } = await openShell(client, 'no-acks', { keepText: false });
    term.acking = false;
    let received = 0;
    client.on('terminal:output', ({ terminalId, data }) => {
      if (terminalId === term.terminalId) received += data.length;
    });
    term.run('yes');
    // However busy the machine, the pty is paused once the viewer is a high-water mark behind.
    // A request answered after that arrives behind every output sent before it (one ordered
    // connection), so from then on nothing more may come.
    const terminal = sandboxById(lab.server, sandbox.sandboxId)!.terminal(term.terminalId)!;
    await vi.waitFor(() => expect(terminal.isPaused).toBe(true), { timeout: 20_000, interval: 50 });
    await client.request('sandbox:list', {});
    const receivedEarly = received;
    const rssEarly = process.memoryUsage().rss;
    await sleep(2000);
    // Paused: nothing more arrives, while yes would produce hundreds of MB in these 2 s.
    expect(received).toBe(receivedEarly);
    expect(received).toBeLessThan(FLOW_CONTROL.highWaterChars + 128 * 1024);
    expect(received).toBeGreaterThan(FLOW_CONTROL.highWaterChars / 2);
    expect(terminal.isPaused).toBe(true);
    expect(process.memoryUsage().rss - rssEarly).toBeLessThan(20 * 1024 * 1024);

    // Acking what arrived lets output flow again.
    term.acking = true;
    term.flushAck();
    await vi.waitFor(() => expect(received).toBeGreaterThan(receivedEarly), { timeout: 20_000, interval: 50 });
    term.type('\x03');
    await term.waitFor(/\^C\s*\n.*# $/, 20_000);
  });

  it('keeps a fast, acking stream going, and Ctrl-C still answers during a flood', async () => {
    const { term } = await openShell(client, 'flood', { keepText: false });
    let received = 0;
    client.on('terminal:output', ({ terminalId, data }) => {
      if (terminalId === term.terminalId) received += data.length;
    });
    term.run('yes');
    while (received < 20 * 1024 * 1024) await sleep(100);
    term.type('\x03');
    await term.waitFor(/\^C\s*\n.*# $/, 20_000);
    expect(await term.exec('echo back')).toMatch(/^back$/m);
  });
});
