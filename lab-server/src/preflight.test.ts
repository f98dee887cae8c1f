import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ptyBudgetProblem, runcHasLeakyVesselsFix, v2SwapAccounting } from './preflight';

describe('runcHasLeakyVesselsFix (CVE-2024-21626)', () => {
  it.each([
    ['1.1.12', '', true],
    ['1.2.0', '', true],
    ['1.1.11', '', false],
    ['1.0.3', '', false],
    ['1.1.5+ds1', '', false],
    // Debian backported the fix into 1.1.5+ds1-1+deb12u1; its changelog names the CVE.
    ['1.1.5+ds1', 'runc (1.1.5+ds1-1+deb12u1) bookworm-security\n  * CVE-2024-21626: several container breakouts', true],
    ['unknown', '', false],
  ])('runc %s with changelog %j → %s', (version, changelog, fixed) => expect(runcHasLeakyVesselsFix(version, changelog)).toBe(fixed));
});

describe('v2SwapAccounting', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  /** A fake cgroup2 mount whose child `name` has `files`. */
  const mountWith = (name: string, files: string[]) => {
    root = mkdtempSync(join(tmpdir(), 'isolab-cgroup2-'));
    mkdirSync(join(root, name));
    for (const file of files) writeFileSync(join(root, name, file), '0\n');
    return root;
  };

  it('is true where a child cgroup with memory shows memory.swap.max', () => {
    expect(v2SwapAccounting(mountWith('init.scope', ['memory.current', 'memory.swap.max']), '')).toBe(true);
  });

  // /proc/swaps exists on any kernel with swap support, so it cannot tell (the old check used it).
  it('is false where a child cgroup with memory has no memory.swap.max (swapaccount=0)', () => {
    expect(v2SwapAccounting(mountWith('system.slice', ['memory.current']), '')).toBe(false);
  });

  it('falls back on the command line where no child has the memory controller', () => {
    expect(v2SwapAccounting(mountWith('empty', []), 'root=/dev/vda swapaccount=0 quiet')).toBe(false);
  });
});

describe('ptyBudgetProblem (kernel.pty.max)', () => {
  it('is quiet when the shared pool covers every sandbox at its cap (the defaults on a default kernel)', () => {
    expect(ptyBudgetProblem({ maxSandboxes: 100, maxTerminalsPerSandbox: 4 }, 4096, 1024)).toBeUndefined();
  });
  it('names the numbers and the sysctl that fixes them when it does not', () => {
    expect(ptyBudgetProblem({ maxSandboxes: 300, maxTerminalsPerSandbox: 4 }, 4096, 1024)).toBe(
      'kernel.pty.max is 4096, and 1024 of those are kept for the host, so sandboxes share 3072 pseudo-terminals; 300 sandboxes with up to 16 each need 4800, ' +
        'and beyond that new terminals fail. Raise it: sysctl -w kernel.pty.max=5824 (and put it in /etc/sysctl.d/ to keep it), or lower ISOLAB_MAX_SANDBOXES.',
    );
  });
});
