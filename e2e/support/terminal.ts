/**
 * Reading and driving the lesson page's terminals the way a learner sees them. The text comes
 * from xterm.js's own buffer (through window.isolab, installed for automated browsers), never
 * from pixels, and every wait polls for what should appear instead of sleeping.
 */
import { expect, type Page } from '@playwright/test';

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

/** Opens a lesson and waits until its terminals are live and at a prompt. */
export async function openLesson(page: Page, slug: string, terminals = 1): Promise<void> {
  await page.goto(`/lessons/${slug}`);
  await expect(page.getByTestId('terminal-status')).toHaveAttribute('data-state', 'live');
  for (let slot = 0; slot < terminals; slot++) await pollFor(page, PROMPT, { slot });
}

/** Clicks into a terminal and types a line, as a learner would. */
export async function typeInto(page: Page, slot: number, line: string): Promise<void> {
  await page.getByTestId(`terminal-${slot + 1}`).click();
  await page.keyboard.type(line);
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
