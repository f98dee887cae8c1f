/**
 * A class behind one address (a school NAT, or a reverse proxy in front of lab-server): limits
 * count learners, not connections, so the whole class gets in while a flood is still refused;
 * and behind a trusted proxy each learner's own address counts, while a forged X-Forwarded-For
 * from anyone else is ignored.
 */
import { describe, expect, it } from 'vitest';
import { LabClient } from '../../lib/lab-client';
import { startTestLab, type TestLab } from './support/test-lab';

async function withLab(env: Record<string, string>, run: (lab: TestLab) => Promise<void>): Promise<void> {
  const lab = await startTestLab(env);
  try {
    await run(lab);
  } finally {
    await lab.close();
  }
}

const refusal = (outcome: LabClient | { code: string; message: string }) => (outcome instanceof LabClient ? 'joined' : `${outcome.code}: ${outcome.message}`);

describe('a class behind one NAT (default limits)', () => {
  it('150 learners from one address all join and stay connected; a flood of new sessions from it is then refused', async () => {
    await withLab({}, async (lab) => {
      // They arrive as a class does, a few at a time.
      const learners: LabClient[] = [];
      for (let wave = 0; wave < 15; wave++) learners.push(...(await Promise.all(Array.from({ length: 10 }, () => lab.connect({ localAddress: '127.0.0.50' })))));
      expect(new Set(learners.map((learner) => learner.session!.sessionId)).size).toBe(150);
      expect(learners.every((learner) => learner.socket.connected)).toBe(true);
      // A reload (the same token again) is not a new learner and always gets back in.
      const reload = await lab.connect({ localAddress: '127.0.0.50', token: learners[0].session!.token });
      expect(reload.session!.isNew).toBe(false);

      const outcomes: string[] = [];
      for (let i = 0; i < 300 && !outcomes.at(-1)?.startsWith('TOO_MANY'); i++) {
        outcomes.push(refusal(await lab.connect({ localAddress: '127.0.0.50' }).catch((error: { code: string; message: string }) => error)));
      }
      expect(outcomes.at(-1)).toMatch(/^TOO_MANY_CONNECTIONS: /);
      // Defaults: 200 learners at once from one address, so the flood got 50 more at most.
      expect(outcomes.filter((o) => o === 'joined').length).toBeLessThanOrEqual(50);
      // ... and the class is unharmed.
      expect(learners.every((learner) => learner.socket.connected)).toBe(true);
      const other = await lab.connect({ localAddress: '127.0.0.51' });
      expect(other.session!.isNew).toBe(true);
    });
  });

  it('one session cannot multiply its connections', async () => {
    await withLab({ ISOLAB_MAX_CONNECTIONS_PER_SESSION: '4' }, async (lab) => {
      const first = await lab.connect();
      const token = first.session!.token;
      await Promise.all(Array.from({ length: 3 }, () => lab.connect({ token })));
      await expect(lab.connect({ token })).rejects.toMatchObject({
        code: 'TOO_MANY_CONNECTIONS',
        message: "This session already has 4 connections open. Close some of the lab's tabs and reload.",
      });
    });
  });
});

describe('behind a trusted proxy', () => {
  const PROXY = '127.0.0.60';
  const env = { ISOLAB_TRUSTED_PROXIES: PROXY, ISOLAB_MAX_SESSIONS_PER_ADDRESS: '2' };
  const tooMany = '2 learners are already connected from your network address';

  it('limits each forwarded client address separately', async () => {
    await withLab(env, async (lab) => {
      const viaProxy = (client: string) => lab.connect({ localAddress: PROXY, forwardedFor: client }).catch((error: { code: string; message: string }) => error);
      expect(refusal(await viaProxy('203.0.113.1'))).toBe('joined');
      expect(refusal(await viaProxy('203.0.113.1'))).toBe('joined');
      expect(refusal(await viaProxy('203.0.113.1'))).toContain(tooMany);
      // Another learner behind the same proxy is not counted with the first.
      expect(refusal(await viaProxy('203.0.113.2'))).toBe('joined');
      // A proxy chain: the client wrote the left part itself, so only the hop the proxy saw counts.
      expect(refusal(await viaProxy('198.51.100.7, 203.0.113.1'))).toContain(tooMany);
    });
  });

  it.each([
    ['anyone who is not a trusted proxy', env],
    ['anyone at all when ISOLAB_TRUSTED_PROXIES is empty (the default)', { ISOLAB_TRUSTED_PROXIES: '', ISOLAB_MAX_SESSIONS_PER_ADDRESS: '2' }],
  ])('ignores X-Forwarded-For from %s', async (_, labEnv) => {
    await withLab(labEnv, async (lab) => {
      const forged = (claimed: string) => lab.connect({ localAddress: '127.0.0.61', forwardedFor: claimed }).catch((error: { code: string; message: string }) => error);
      expect(refusal(await forged('203.0.113.10'))).toBe('joined');
      expect(refusal(await forged('203.0.113.11'))).toBe('joined');
      // Different forged addresses every time, yet all counted as 127.0.0.61.
      expect(refusal(await forged('203.0.113.12'))).toContain(tooMany);
    });
  });
});
