import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimIdentitySlots, IDENTITY_BLOCK, IdentitiesBusyError } from './state-lock';

const dirs: string[] = [];
const claimsDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'isolab-identities-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('host-wide identity slots', () => {
  it('gives two labs on one host slots that do not overlap, and frees them on release', () => {
    const dir = claimsDir();
    const first = claimIdentitySlots(116, 50_000, dir);
    const second = claimIdentitySlots(116, 50_000, dir);
    expect(first.firstSlot).toBe(1);
    expect(second.firstSlot).toBeGreaterThanOrEqual(first.firstSlot + 116);
    first.release();
    expect(claimIdentitySlots(116, 50_000, dir).firstSlot).toBe(1);
  });

  it('a lab that needs several blocks skips past a busy one rather than straddling it', () => {
    const dir = claimsDir();
    const small = claimIdentitySlots(10, 50_000, dir); // block 0
    small.release();
    const middle = claimIdentitySlots(IDENTITY_BLOCK, 50_000, dir); // block 0 again
    const big = claimIdentitySlots(IDENTITY_BLOCK * 2 + 1, 50_000, dir); // needs 3 free blocks
    expect(middle.firstSlot).toBe(1);
    expect(big.firstSlot).toBe(1 + IDENTITY_BLOCK);
  });

  it('takes over the claim of a lab-server that is gone', () => {
    const dir = claimsDir();
    // A process that has exited: its pid and start time no longer name a live process.
    const gone = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, 'slots-1'), `${gone} 1`);
    expect(claimIdentitySlots(116, 50_000, dir).firstSlot).toBe(1);
    expect(readFileSync(join(dir, 'slots-1'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  });

  it('says which lab-servers hold the host when no range is free', () => {
    const dir = claimsDir();
    claimIdentitySlots(IDENTITY_BLOCK, IDENTITY_BLOCK * 2, dir);
    claimIdentitySlots(IDENTITY_BLOCK, IDENTITY_BLOCK * 2, dir);
    const refusal = (() => {
      try {
        claimIdentitySlots(IDENTITY_BLOCK, IDENTITY_BLOCK * 2, dir);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(IdentitiesBusyError);
    expect((refusal as Error).message).toContain(`pids ${process.pid}`);
  });
});
