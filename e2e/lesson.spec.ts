/**
 * The UTS lesson, end to end, in a real browser against a real lab-server: the terminal, Run
 * buttons, checks, reload and reconnect, two terminals, and the progress on the course map.
 */
import { mkdirSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { copyLine, dropAndReconnect, expectLive, openLesson, pasteLine, pollFor, PROMPT, sandboxHostname, terminalText, typeInto } from './support/terminal';

const SCREENSHOTS = 'e2e/output';

/** The step sections of the lesson, by title. */
const step = (page: Page, title: RegExp) => page.getByRole('region', { name: title });

test.describe('the UTS lesson', () => {
  test('starts a live terminal at a prompt, and `hostname` prints the sandbox’s name', async ({ page }) => {
    await page.goto('/lessons/uts');
    await expect(page.getByRole('heading', { level: 1 })).toContainText('UTS namespace');
    // The learner sees the state before and after: connecting, then live.
    await expectLive(page.getByTestId('terminal-status'));
    await pollFor(page, PROMPT);
    const hostname = await sandboxHostname(page);

    await typeInto(page, 0, 'hostname');
    const text = await pollFor(page, new RegExp(`\\$?hostname\\n${hostname}\\n`));
    expect(text).toContain(`root@${hostname}:~#`);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}/lesson-uts.png` });
  });

  test('Run types a block into its terminal and runs it, also from the keyboard', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const hostname = await sandboxHostname(page);
    const first = step(page, /Read the sandbox/);

    // A block for terminal 1: three commands, three answers, all the sandbox's name.
    await first.getByRole('button', { name: 'Run in terminal 1: hostname', exact: true }).click();
    const text = await pollFor(page, `cat /proc/sys/kernel/hostname\n${hostname}\n`);
    expect(text).toContain(`uname -n\n${hostname}\n`);

    // A block marked terminal=2 goes to the second terminal, pressed with the keyboard.
    const run2 = first.getByRole('button', { name: /Run in terminal 2: readlink/ });
    await run2.focus();
    await page.keyboard.press('Enter');
    await pollFor(page, /readlink \/proc\/\$\$\/ns\/uts\nuts:\[\d+\]/, { slot: 1 });
    expect(await terminalText(page, 0)).not.toContain('uts:[');
  });

  test('a check fails with its hint before the step, and passes after it; progress reaches the course map', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const second = step(page, /Give one shell a hostname/);
    const check = second.getByTestId('step-check');

    await check.getByRole('button', { name: 'Check' }).click();
    await expect(check).toHaveAttribute('data-outcome', 'failed');
    await expect(check.getByTestId('check-hint')).toContainText('unshare --uts bash');

    // Do the step with its Run buttons: a new UTS namespace, renamed, with a fresh prompt.
    for (const name of [/Run in terminal 1: unshare --uts bash/, /Run in terminal 1: echo \$\$/, /Run in terminal 1: hostname inside/, /Run in terminal 1: exec bash/]) {
      await second.getByRole('button', { name }).click();
    }
    await pollFor(page, /root@inside:~# ?$/);

    await check.getByRole('button', { name: 'Check' }).click();
    await expect(check).toHaveAttribute('data-outcome', 'passed');
    await expect(check).toContainText('Check passed');
    await expect(page.getByTestId('lesson-progress')).toHaveText('1 of 6 steps done');
    await check.scrollIntoViewIfNeeded();
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}/lesson-uts-check.png` });

    // The outside terminal still has the sandbox's name: the rename stayed inside.
    const hostname = await sandboxHostname(page);
    await typeInto(page, 1, 'hostname');
    await pollFor(page, `hostname\n${hostname}\n`, { slot: 1 });

    await page.getByRole('link', { name: 'Course' }).first().click();
    await expect(page.getByTestId('progress-uts')).toHaveAttribute('data-done', '1');
    await expect(page.getByTestId('progress-uts')).toContainText('1/6 steps');
    // "Continue" leads back into this lesson, at the first step not done yet.
    const continueLink = page.getByTestId('continue-card').getByRole('link', { name: 'Continue' });
    await expect(continueLink).toHaveAttribute('href', '/lessons/uts#read-the-sandbox-s-name');
  });

  test('a reload comes back to the same sandbox with the screen replayed', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const hostname = await sandboxHostname(page);
    await typeInto(page, 0, 'echo replay-$((6*7))-marker');
    await pollFor(page, 'replay-42-marker\n');
    await typeInto(page, 1, 'echo second-$((40+2))');
    await pollFor(page, 'second-42\n', { slot: 1 });

    await page.reload();
    await expectLive(page.getByTestId('terminal-status'));
    // Nothing was typed since the reload: the text can only come from the replayed screen.
    await pollFor(page, 'replay-42-marker\n');
    await pollFor(page, 'second-42\n', { slot: 1 });
    expect(await sandboxHostname(page)).toBe(hostname);

    // And it is live, not a picture of the past.
    await typeInto(page, 0, 'echo after-reload-$((1+1))');
    await pollFor(page, 'after-reload-2\n');
  });

  test('after a network drop it reconnects to the same sandbox, and shows it is doing so', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const hostname = await sandboxHostname(page);
    await typeInto(page, 0, 'echo before-drop');
    await pollFor(page, 'before-drop\n');

    await dropAndReconnect(page);
    expect(await sandboxHostname(page)).toBe(hostname);
    await pollFor(page, 'before-drop\n');
    await typeInto(page, 0, 'echo after-drop');
    await pollFor(page, 'after-drop\n');
  });

  test('the two terminals are two shells in one sandbox, side by side or in tabs', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    await typeInto(page, 0, 'echo made-in-terminal-1 > /tmp/shared.txt; echo $$');
    await pollFor(page, /shared\.txt; echo \$\$\n\d+\n/);
    await typeInto(page, 1, 'cat /tmp/shared.txt; ps -e -o pid= -o comm= | grep -c bash');
    // Terminal 2 reads the file terminal 1 wrote, and sees both shells' processes.
    await pollFor(page, /made-in-terminal-1\n[2-9]\n/, { slot: 1 });

    await page.getByRole('button', { name: 'Tabs' }).click();
    const tabs = page.getByRole('tablist', { name: 'Terminals' });
    await expect(tabs.getByRole('tab')).toHaveCount(2);
    await tabs.getByRole('tab', { name: 'Terminal 1' }).click();
    await expect(page.getByRole('tabpanel')).toHaveCount(1);
    await expect(tabs.getByRole('tab', { name: 'Terminal 1' })).toHaveAttribute('aria-selected', 'true');
    // Run on a terminal-2 block switches to that tab.
    await step(page, /Look from outside/).getByRole('button', { name: 'Run in terminal 2: hostname', exact: true }).click();
    await expect(tabs.getByRole('tab', { name: 'Terminal 2' })).toHaveAttribute('aria-selected', 'true');
    await pollFor(page, /NS TYPE\s+NPROCS/, { slot: 1 });
    await page.getByRole('button', { name: 'Side by side' }).click();
    await expect(page.getByRole('tablist')).toHaveCount(0);
  });

  test('copy with Ctrl+Shift+C and paste with Ctrl+Shift+V', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    await typeInto(page, 0, 'echo copy-me-$((3*3))');
    await pollFor(page, 'copy-me-9\n');

    await copyLine(page, 'copy-me-9');

    await pasteLine(page, 'echo pasted-$((40+2))');
    await pollFor(page, 'pasted-42\n');
  });

  test('font size, resize and screen reader mode', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const before = (await page.evaluate(() => window.isolab!.size(0)))!;
    await page.getByRole('button', { name: 'Larger text' }).click();
    await page.getByRole('button', { name: 'Larger text' }).click();
    await expect.poll(async () => (await page.evaluate(() => window.isolab!.size(0)))!.cols).toBeLessThan(before.cols);
    const after = (await page.evaluate(() => window.isolab!.size(0)))!;
    // The shell in the sandbox was told the new size too.
    await typeInto(page, 0, 'stty size');
    await pollFor(page, `stty size\n${after.rows} ${after.cols}\n`);

    // Making the window narrower resizes the terminal and the pty again.
    await page.setViewportSize({ width: 1200, height: 800 });
    await expect.poll(async () => (await page.evaluate(() => window.isolab!.size(0)))!.cols).toBeLessThan(after.cols);
    const narrow = (await page.evaluate(() => window.isolab!.size(0)))!;
    await typeInto(page, 0, 'stty size');
    await pollFor(page, `${narrow.rows} ${narrow.cols}\n`);

    const screenReader = page.getByRole('button', { name: 'Screen reader mode' });
    await screenReader.click();
    await expect(screenReader).toHaveAttribute('aria-pressed', 'true');
    // xterm.js then keeps a DOM copy of the rows for assistive technology.
    await expect(page.getByTestId('terminal-1').locator('.xterm-accessibility-tree')).toContainText('stty size');
  });

  test('a flood of output arrives in full, because the browser acknowledges what it has drawn', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    // About 1 MB: far past lab-server's high-water mark, so without acks the pty would stay paused.
    await typeInto(page, 0, 'seq 1 150000; echo flood-$((1+1))-done');
    await pollFor(page, /149999\n150000\nflood-2-done\n/, { timeout: 45_000 });
    await typeInto(page, 0, 'echo still-responsive');
    await pollFor(page, 'still-responsive\n');
  });

  test('Reset lesson forgets this lesson’s steps and starts a fresh sandbox', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const hostname = await sandboxHostname(page);
    const progress = page.getByTestId('lesson-progress');
    await step(page, /Read the sandbox/).getByRole('button', { name: 'Mark as done' }).click();
    await expect(progress).toHaveText('1 of 6 steps done');

    await page.getByRole('button', { name: 'Reset lesson' }).click();
    await page.getByRole('group', { name: 'Confirm lesson reset' }).getByRole('button', { name: 'Reset', exact: true }).click();
    await expect(progress).toHaveText('0 of 6 steps done');
    await expectLive(page.getByTestId('terminal-status'));
    await pollFor(page, PROMPT);
    expect(await sandboxHostname(page)).not.toBe(hostname);
  });

  test('an ended sandbox says so and offers a restart that brings a fresh one', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    const hostname = await sandboxHostname(page);
    await typeInto(page, 0, 'exit');

    await expect(page.getByTestId('terminal-status')).toHaveAttribute('data-state', 'ended');
    const overlay = page.getByTestId('terminal-overlay');
    await expect(overlay).toContainText('This sandbox has ended');
    await overlay.getByRole('button', { name: 'Restart sandbox' }).click();

    await expectLive(page.getByTestId('terminal-status'));
    await pollFor(page, PROMPT);
    await pollFor(page, PROMPT, { slot: 1 });
    const fresh = await sandboxHostname(page);
    expect(fresh).not.toBe(hostname);
    await typeInto(page, 1, 'hostname');
    await pollFor(page, `hostname\n${fresh}\n`, { slot: 1 });
  });

  test('looks right in the dark theme and on a narrow screen', async ({ page }) => {
    await openLesson(page, 'uts', 2);
    await page.getByRole('button', { name: /theme/i }).click(); // system → light
    await page.getByRole('button', { name: /theme/i }).click(); // light → dark
    await expect(page.locator('html')).toHaveClass(/dark/);
    await typeInto(page, 0, 'hostname');
    await pollFor(page, /hostname\nsbx-/);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}/lesson-uts-dark.png` });

    await page.setViewportSize({ width: 420, height: 860 });
    // Stacked: the terminal is below the text, and both are on screen.
    const text = (await page.getByRole('region', { name: 'Lesson' }).boundingBox())!;
    const terminal = (await page.getByRole('region', { name: 'Terminal' }).boundingBox())!;
    expect(terminal.y).toBeGreaterThanOrEqual(text.y + text.height - 1);
    expect(terminal.y + terminal.height).toBeLessThanOrEqual(860 + 1);
    await page.screenshot({ path: `${SCREENSHOTS}/lesson-uts-narrow.png` });
  });
});
