import { describe, expect, it } from 'vitest';
import { ExecGate } from './exec-gate';

describe('ExecGate', () => {
  it('refuses a session that runs checks back to back, with the wait in the sentence', async () => {
    const gate = new ExecGate(8, 60);
    for (let i = 0; i < 20; i++) (await gate.forCheck('a'))();
    await expect(gate.forCheck('a')).rejects.toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/again in 1 second \(at most 60 a minute\)/) });
    // Another learner is not affected.
    (await gate.forCheck('b'))();
  });

  it('lets checks wait for a slot, and hands each freed slot to the next', async () => {
    const gate = new ExecGate(2, 600);
    const first = await gate.forCheck('a');
    const second = await gate.forCheck('b');
    let third: (() => void) | undefined;
    const waiting = gate.forCheck('c').then((release) => (third = release));
    await Promise.resolve();
    expect(third).toBeUndefined();
    // A terminal does not jump the queue.
    expect(() => gate.forTerminal()).toThrow(expect.objectContaining({ code: 'LAB_BUSY' }));
    first();
    await waiting;
    expect(gate.inUse).toBe(2);
    second();
    third!();
    third!(); // releasing twice frees one slot only
    expect(gate.inUse).toBe(0);
    gate.forTerminal()();
  });
});
