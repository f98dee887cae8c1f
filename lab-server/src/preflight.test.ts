import { describe, expect, it } from 'vitest';
import { runcHasLeakyVesselsFix } from './preflight';

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
