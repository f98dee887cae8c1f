/**
 * Capacity and auth abuse (the outside review's class 7), tried the way the outside review did: one
 * address opening sandbox after sandbox, guessing the instructor token, reading /metrics, and
 * picking a name that displays as something else. Each is contained, with a sentence that says
 * why, while everyone else carries on.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { startTestLab, type TestLab } from './support/test-lab';

const INSTRUCTOR_TOKEN = 'adversarial-access-Zq8xW3vN5tK1pR7mB2cJ';
const METRICS_TOKEN = 'metrics-token-Hy6dF9sL0aG4eU8iO3wQ5zX';

let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab({
    ISOLAB_MAX_SANDBOXES_PER_ADDRESS: '2',
    ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN,
    // Loopback (where the tests connect from) is not an operator address here.
    ISOLAB_METRICS_ALLOW: '127.0.0.42',
    ISOLAB_METRICS_TOKEN: METRICS_TOKEN,
  });
});
afterAll(() => lab?.close());

/** A client from another loopback address: another machine, as far as lab-server can tell. */
const from = (localAddress: string, options: Parameters<TestLab['connect']>[0] = {}) => lab.connect({ localAddress, ...options });

describe('one address opening sandbox after sandbox', () => {
  it('stops at the per-address cap, even across new sessions, and others still get theirs', async () => {
    const sessions = await Promise.all([from('127.0.0.11'), from('127.0.0.11'), from('127.0.0.11')]);
    const first = await sessions[0].request('sandbox:open', { key: 'one' });
    await sessions[1].request('sandbox:open', { key: 'two' });
    await expect(sessions[2].request('sandbox:open', { key: 'three' })).rejects.toMatchObject({
      code: 'ADDRESS_LIMIT',
      message: expect.stringContaining('ISOLAB_MAX_SANDBOXES_PER_ADDRESS'),
    });
    // Reopening a sandbox one already has is not a new one.
    expect((await sessions[0].request('sandbox:open', { key: 'one' })).sandboxId).toBe(first.sandboxId);

    const neighbour = await from('127.0.0.12');
    await expect(neighbour.request('sandbox:open', { key: 'mine' })).resolves.toMatchObject({ key: 'mine' });

    // Closing one gives the address its slot back.
    await sessions[0].request('sandbox:close', { sandboxId: first.sandboxId });
    await expect(sessions[2].request('sandbox:open', { key: 'three' })).resolves.toMatchObject({ key: 'three' });
  });

  it('counts sandboxes started at the same moment: a burst cannot slip past the cap', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => from('127.0.0.13')));
    const results = await Promise.allSettled(clients.map((client, i) => client.request('sandbox:open', { key: `burst-${i}` })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['ADDRESS_LIMIT', 'ADDRESS_LIMIT', 'ADDRESS_LIMIT']);
  });
});

describe('guessing the instructor token', () => {
  it('is throttled per address; a right token from elsewhere still works', async () => {
    const guesses: string[] = [];
    for (let i = 0; i < 12; i++) {
      const outcome = await from('127.0.0.21', { instructorToken: `wrong-guess-${i}-aaaaaaaaaaaaaaaaaaaaaaaa` }).catch((error: { code: string }) => error);
      guesses.push((outcome as { code: string }).code);
    }
    expect(guesses.slice(0, 10)).toEqual(Array(10).fill('FORBIDDEN'));
    expect(guesses.slice(10)).toEqual(['TOO_MANY_ATTEMPTS', 'TOO_MANY_ATTEMPTS']);
    // Once throttled, even the right token learns nothing from this address.
    await expect(from('127.0.0.21', { instructorToken: INSTRUCTOR_TOKEN })).rejects.toMatchObject({
      code: 'TOO_MANY_ATTEMPTS',
      message: expect.stringMatching(/Too many wrong instructor links came from your address\. Wait \d+ seconds/),
    });
    const instructor = await from('127.0.0.22', { instructorToken: INSTRUCTOR_TOKEN });
    await expect(instructor.request('class:set-open', { open: true })).resolves.toEqual({ open: true });
  });

  it('must be at least 32 random characters when configured', () => {
    const problem = (token: string) => {
      try {
        loadConfig({ ISOLAB_INSTRUCTOR_TOKEN: token });
        return 'accepted';
      } catch (error) {
        return (error as ConfigError).problems.join();
      }
    };
    expect(problem('sixteen-chars-ok')).toContain('must be at least 32 random characters (make one with: openssl rand -base64 32)');
    expect(problem('password'.repeat(5))).toContain('must be at least 32 random characters');
    expect(problem('0123456789'.repeat(4))).toContain('must be at least 32 random characters');
    expect(problem(INSTRUCTOR_TOKEN)).toBe('accepted');
  });
});

describe('/metrics and /healthz', () => {
  const get = (path: string, options: { localAddress?: string; token?: string } = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(path, lab.url);
      const req = request(url, { localAddress: options.localAddress, headers: options.token ? { authorization: `Bearer ${options.token}` } : {} }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('are not public: a learner gets no metrics and only the status of /healthz', async () => {
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(403);
    expect(metrics.body).toContain('ISOLAB_METRICS_ALLOW');
    expect(metrics.body).not.toContain('isolab_');
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    expect((await get('/metrics', { token: 'a-wrong-token-of-the-right-length-xxxxx' })).status).toBe(403);
  });

  it('answer the operator in full, from an allowed address or with the token', async () => {
    const allowed = await get('/metrics', { localAddress: '127.0.0.42' });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('isolab_sandboxes_live');
    expect((await get('/metrics', { token: METRICS_TOKEN })).body).toContain('isolab_sandboxes_live');
    expect(JSON.parse((await get('/healthz', { token: METRICS_TOKEN })).body)).toMatchObject({ status: 'ok', runcVersion: expect.any(String), sandboxes: expect.any(Number) });
  });

  it('are open only to loopback unless the operator says otherwise', () => {
    expect(loadConfig({}).metricsAllow).toEqual(['127.0.0.1', '::1']);
  });
});

describe('display names', () => {
  const BIDI_OVERRIDE = '\u202e';
  const ZERO_WIDTH_SPACE = '\u200b';

  it('a name with a bidi override or zero-width character, or 1000 characters long, in the handshake is replaced by a generated one', async () => {
    const client = await from('127.0.0.31', { displayName: `evil${BIDI_OVERRIDE}gnp.exe` });
    expect(client.session!.displayName).toMatch(/^[a-z]+-[a-z]+$/);
    const sneaky = await from('127.0.0.31', { displayName: `Ali${ZERO_WIDTH_SPACE}ce` });
    expect(sneaky.session!.displayName).toMatch(/^[a-z]+-[a-z]+$/);
    const long = await from('127.0.0.31', { displayName: 'n'.repeat(1000) });
    expect(long.session!.displayName).toMatch(/^[a-z]+-[a-z]+$/);
  });

  it('renaming refuses control and invisible characters and the instructor title, with the reason', async () => {
    const client = await from('127.0.0.32');
    for (const name of [`Bob${BIDI_OVERRIDE}`, `B${ZERO_WIDTH_SPACE}ob`, 'Bob\u0007', 'line\u2028break']) {
      await expect(client.request('class:rename', { displayName: name })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('names cannot contain control or invisible characters'),
      });
    }
    for (const name of ['Instructor', 'instructor', ' INSTRUCTOR! ', 'ＩＮＳＴＲＵＣＴＯＲ', 'In-struc-tor']) {
      await expect(client.request('class:rename', { displayName: name })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('"Instructor" is reserved for the instructor'),
      });
    }
  });

  it('renaming folds compatibility forms (NFKC) and keeps ordinary names from any script', async () => {
    const client = await from('127.0.0.33');
    expect(await client.request('class:rename', { displayName: 'Ａｌｉｃｅ' })).toEqual({ displayName: 'Alice' });
    expect(await client.request('class:rename', { displayName: 'ﬁona' })).toEqual({ displayName: 'fiona' });
    expect(await client.request('class:rename', { displayName: 'Zoë Ελένη 李' })).toEqual({ displayName: 'Zoë Ελένη 李' });
  });
});
