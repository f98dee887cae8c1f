/**
 * Reading and driving the lesson page's terminals the way a learner sees them. The text comes
 * from xterm.js's own buffer (through window.isolab, installed for automated browsers), never
 * from pixels, and every wait polls for what should appear instead of sleeping.
 */
import { expect, type Locator, type Page } from '@playwright/test';

/** Everything terminal `slot` (0-based) shows, scrollback included. */
export function terminalText(page: Page, slot = 0): Promise<string> {
  return page.evaluate((index) => window.isolab?.terminalText(index) ?? '', slot);
}

/** Waits until terminal `slot` shows `expected`, and returns its text at that moment. */
export async function pollFor(page: Page, expected: string | RegExp, options: { slot?: number; timeout?: number } = {}): Promise<string> {
  const slot = options.slot ?? 0;
  let text = '';
  await expect
    .poll(async () => (text = await terminalText(page, slot)), {
      message: `terminal ${slot + 1} should show ${expected}`,
      timeout: options.timeout ?? 15_000,
      intervals: [50, 100, 200],
    })
    .toMatch(typeof expected === 'string' ? new RegExp(escapeRegExp(expected)) : expected);
  return text;
}

/** A bash prompt in a sandbox, e.g. `root@sbx-1a2b3c4d:~# ` at the end of the screen. */
export const PROMPT = /root@[\w-]+:[^\n]*# ?$/;

/**
 * How long a terminal may take to become live: as long as the product itself waits before it
 * shows an error (the browser's connect attempt, 8 s, and lab-server's sandbox start, 15 s), plus
 * the page's own loading on a busy machine. Not a guess at how fast it should be: a terminal
 * that fails says so sooner, and `expectLive` then fails with what it shows.
 */
export const SETTLE_MS = 40_000;

/**
 * Waits until the terminal's status settles (live, ended or error) and asserts that it is live.
 * `status` is a `terminal-status` badge.
 */
export async function expectLive(status: Locator): Promise<void> {
  await expect(status, 'the terminal should finish connecting').toHaveAttribute('data-state', /^(live|ended|error)$/, { timeout: SETTLE_MS });
  await expect(status).toHaveAttribute('data-state', 'live', { timeout: 1 });
}

/** Opens a lesson and waits until its terminals are live and at a prompt. */
export async function openLesson(page: Page, slug: string, terminals = 1): Promise<void> {
  await page.goto(`/lessons/${slug}`);
  await expectLive(page.getByTestId('terminal-status'));
  for (let slot = 0; slot < terminals; slot++) await pollFor(page, PROMPT, { slot });
}

/**
 * Drops the page's connection to lab-server, as a network drop would, and waits until the status
 * badge has shown "reconnecting" (the learner is told) and is live again.
 */
export async function dropAndReconnect(page: Page): Promise<void> {
  const states: string[] = [];
  await page.exposeFunction('recordState', (state: string) => states.push(state));
  await page.evaluate(() => {
    const badge = document.querySelector('[data-testid=terminal-status]')!;
    new MutationObserver(() => (window as unknown as { recordState(s: string): void }).recordState(badge.getAttribute('data-state')!)).observe(badge, { attributes: true });
    window.isolab!.dropConnection();
  });
  await expect.poll(() => states).toContain('reconnecting');
  await expectLive(page.getByTestId('terminal-status'));
}

/** Clicks into a terminal and types a line, as a learner would. */
export async function typeInto(page: Page, slot: number, line: string): Promise<void> {
  await page.getByTestId(`terminal-${slot + 1}`).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/**
 * Selects a whole output line of the first terminal with the mouse, as a learner would, copies
 * it with Ctrl+Shift+C and checks that it reached the clipboard.
 */
export async function copyLine(page: Page, line: string): Promise<void> {
  const box = (await page.getByTestId('terminal-1').locator('.xterm-screen').boundingBox())!;
  const size = (await page.evaluate(() => window.isolab!.size(0)))!;
  const row = (await terminalText(page, 0)).split('\n').indexOf(line);
  expect(row, `terminal 1 should show the line ${line}`).toBeGreaterThanOrEqual(0);
  const y = box.y + (box.height / size.rows) * (row + 0.5);
  await page.mouse.move(box.x + 2, y);
  await page.mouse.down();
  await page.mouse.move(box.x + (box.width / size.cols) * (line.length + 0.5), y, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.press('Control+Shift+C');
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(line);
}

/** Puts `line` on the clipboard, pastes it into the first terminal with Ctrl+Shift+V and runs it. */
export async function pasteLine(page: Page, line: string): Promise<void> {
  await page.evaluate((text) => navigator.clipboard.writeText(text), line);
  await page.getByTestId('terminal-1').click();
  await page.keyboard.press('Control+Shift+V');
  await pollFor(page, new RegExp(`${escapeRegExp(line)}$`));
  await page.keyboard.press('Enter');
}

/** The hostname shown in the terminal toolbar (the sandbox's id). */
export async function sandboxHostname(page: Page): Promise<string> {
  const hostname = (await page.getByTestId('sandbox-hostname').textContent())?.trim() ?? '';
  expect(hostname).toMatch(/^sbx-[a-z0-9]{8}$/);
  return hostname;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
