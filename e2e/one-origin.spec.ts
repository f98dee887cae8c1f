/**
 * The lab as a teacher serves it to a class: Caddy (deploy/Caddyfile, started by `npm start --
 * --caddy`, as the e2e lab is) in front of the web app and lab-server, on one HTTPS origin with
 * Caddy's own CA. The browser opens no second port, gets the Clipboard API (secure origins only),
 * and lab-server sees each learner's own address through the proxy.
 */
import { expect, test } from '@playwright/test';
import { LabClient, type LabRequestError } from '../lib/lab-client';
import { CHROMIUM_LAUNCH_OPTIONS, E2E_CADDY_PORT, E2E_CADDY_URL } from './support/lab-env';
import { copyLine, expectLive, openLesson, pasteLine, pollFor, sandboxHostname, typeInto } from './support/terminal';

test.use({
  baseURL: E2E_CADDY_URL,
  // Caddy's test CA is not trusted here. ignoreHTTPSErrors covers pages but not chromium's
  // WebSockets (net_error -202 on wss://), hence the flag as well.
  ignoreHTTPSErrors: true,
  launchOptions: { ...CHROMIUM_LAUNCH_OPTIONS, args: [...CHROMIUM_LAUNCH_OPTIONS.args, '--ignore-certificate-errors'] },
});

test('one HTTPS origin: the terminal’s socket is on the page’s own origin, copy and paste work, a reload returns to the same sandbox', async ({ page }) => {
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await openLesson(page, 'uts');
  expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
  expect(sockets.length).toBeGreaterThan(0);
  for (const url of sockets) expect(url).toMatch(new RegExp(`^wss://localhost:${E2E_CADDY_PORT}/socket\\.io/`));

  const hostname = await sandboxHostname(page);
  await typeInto(page, 0, 'echo through-caddy-$((6*7))');
  await pollFor(page, 'through-caddy-42\n');

  // The Clipboard API exists only on a secure origin: a learner copies output and pastes a command.
  await copyLine(page, 'through-caddy-42');
  await pasteLine(page, 'echo pasted-$((40+2))');
  await pollFor(page, 'pasted-42\n');

  await page.reload();
  await expectLive(page.getByTestId('terminal-status'));
  await pollFor(page, 'through-caddy-42\n');
  expect(await sandboxHostname(page)).toBe(hostname);
});

test('plain HTTP is sent to HTTPS', async ({ request }) => {
  const response = await request.get(`http://localhost:${E2E_CADDY_PORT + 1}/lessons/uts`, { maxRedirects: 0 });
  expect(response.status()).toBe(308);
  expect(response.headers().location).toBe(`${E2E_CADDY_URL}/lessons/uts`);
});

test('learners behind the proxy are told apart by their own address, and a forged X-Forwarded-For changes nothing', async () => {
  /** A learner at `address` (a loopback alias: another machine, as far as anyone can tell). */
  const connect = (address: string, options: { instructorToken?: string; forwardedFor?: string } = {}) =>
    LabClient.connect(E2E_CADDY_URL, { origin: E2E_CADDY_URL, localAddress: address, rejectUnauthorized: false, ...options }).then(
      (client) => {
        client.close();
        return 'joined';
      },
      (error: LabRequestError) => error.code,
    );
  const guess = (address: string, forwardedFor?: string) => connect(address, { instructorToken: 'a-wrong-instructor-token-guess-0000000', forwardedFor });

  // Wrong instructor tokens are throttled per client address: ten, then no more.
  const first: string[] = [];
  for (let i = 0; i < 11; i++) first.push(await guess('127.0.0.71'));
  expect(first).toEqual([...Array(10).fill('FORBIDDEN'), 'TOO_MANY_ATTEMPTS']);
  // Another learner behind the same Caddy is not throttled with the first...
  expect(await guess('127.0.0.72')).toBe('FORBIDDEN');
  // ... and the first cannot pose as someone else: Caddy writes the address it saw.
  expect(await guess('127.0.0.71', '198.51.100.23')).toBe('TOO_MANY_ATTEMPTS');
  // A learner there still joins as usual.
  expect(await connect('127.0.0.72')).toBe('joined');
});
