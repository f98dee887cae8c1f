import { describe, expect, it } from 'vitest';
import { cpuBandwidth } from './oci-spec';

describe('cpuBandwidth', () => {
  it('keeps the share and shortens the wait: 0.5 CPU is 5 ms in every 10 ms', () => {
    expect(cpuBandwidth(0.5, 10_000)).toEqual({ quota: 5000, period: 10_000 });
    expect(cpuBandwidth(2, 10_000)).toEqual({ quota: 20_000, period: 10_000 });
  });

  it('lengthens the period where the quota would be shorter than the kernel accepts (1 ms)', () => {
    expect(cpuBandwidth(0.05, 10_000)).toEqual({ quota: 1000, period: 20_000 });
    expect(cpuBandwidth(0.5, 1000)).toEqual({ quota: 1000, period: 2000 });
  });
});
