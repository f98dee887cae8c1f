/**
 * The terminal in its frame: it fills its pane (the host is CSS-contained, so its size comes
 * from the pane alone), and its screen is written once, both when it is new (a new terminal is
 * not reset before its first screen) and when a reconnect replays it (reset, then the snapshot).
 */
import { expect, test, type Page } from '@playwright/test';
import { loadLessons } from '../lib/lessons/load-lessons';
import { dropAndReconnect, openLesson, pollFor, PROMPT, terminalText, typeInto } from './support/terminal';

const singleTerminal = loadLessons().find((lesson) => lesson.terminals === 1);

// Each opens a lesson and waits for its sandbox, on a box that may be busy.
test.slow();

/**
 * How terminal 1's drawn rows sit in their pane: the gap left at the right and at the bottom, in
 * cells. Negative means cut off; more than a cell (plus the scrollbar's room) means it does not fill.
 */
function fill(page: Page) {
  return page.evaluate(() => {
    const frame = document.querySelector('[data-testid=terminal-1]')!;
    const host = frame.querySelector('.terminal-host')!.getBoundingClientRect();
    const screen = frame.querySelector('.xterm-screen')!.getBoundingClientRect();
    const size = window.isolab!.size(0)!;
    const cell = { width: screen.width / size.cols, height: screen.height / size.rows };
    return {
      right: (host.right - screen.right) / cell.width,
      bottom: (host.bottom - screen.bottom) / cell.height,
      left: screen.left - host.left,
      top: screen.top - host.top,
      rows: size.rows,
    };
  });
}

/**
 * Terminal 1's rows start at its pane's corner, end inside it, and leave less than a line, or a
 * column and a scrollbar's room, free. Polled: the pane settles after a resize.
 */
async function expectFilled(page: Page): Promise<void> {
  await expect
    .poll(
      async () => {
        const gap = await fill(page);
        const fills = gap.right >= 0 && gap.right < 3 && gap.bottom >= 0 && gap.bottom < 1 && Math.abs(gap.left) < 0.5 && Math.abs(gap.top) < 0.5 && gap.rows >= 10;
        return fills ? 'fills its pane' : JSON.stringify(gap);
      },
      // Shorter than the test's timeout, so that a failure shows the last gaps measured.
      { message: 'terminal 1 should fill its pane, nothing cut off', timeout: 30_000 },
    )
    .toBe('fills its pane');
}

test('the terminal fills its pane at the first prompt and after the window narrows, and the shell has its size', async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await openLesson(page, 'uts', 2);
  await expectFilled(page);
  const wide = (await page.evaluate(() => window.isolab!.size(0)))!;
  await typeInto(page, 0, 'stty size');
  await pollFor(page, `stty size\n${wide.rows} ${wide.cols}\n`);

  await page.setViewportSize({ width: 1100, height: 700 });
  await expect.poll(async () => (await page.evaluate(() => window.isolab!.size(0)))!.cols).toBeLessThan(wide.cols);
  await expectFilled(page);
  const narrow = (await page.evaluate(() => window.isolab!.size(0)))!;
  expect(narrow.rows).toBeLessThan(wide.rows);
  await typeInto(page, 0, 'stty size');
  await pollFor(page, `stty size\n${narrow.rows} ${narrow.cols}\n`);
});

test('two terminals keep room to work when the lesson opens its observe panel below them', async ({ page }) => {
  // The pid lesson opens the host's view by default; stacked under it at 1440×900 the two
  // terminals were once squeezed to six rows each.
  await page.setViewportSize({ width: 1440, height: 900 });
  await openLesson(page, 'pid', 2);
  const panel = page.getByTestId('observe-slot');
  await expect(panel.getByRole('button', { name: 'Observe', expanded: true })).toBeVisible();
  await expect(panel.getByText('PID on host')).toBeVisible();
  // Each terminal's rows, read once its fit has caught up with the layout (its drawn rows end inside its
  // pane, less than a row short): the panel's content and the fit both come asynchronously.
  const settledRows = () =>
    page.evaluate(() =>
      [0, 1].map((slot) => {
        const frame = document.querySelector(`[data-testid=terminal-${slot + 1}]`)!;
        const host = frame.querySelector('.terminal-host')!.getBoundingClientRect();
        const screen = frame.querySelector('.xterm-screen')!.getBoundingClientRect();
        const { rows } = window.isolab!.size(slot)!;
        const gap = (host.bottom - screen.bottom) / (screen.height / rows);
        if (gap < 0 || gap >= 1) return `not settled (${gap.toFixed(2)} rows free)`;
        return rows >= 10 ? 'at least 10 rows' : `${rows} rows`;
      }),
    );
  await expect.poll(settledRows, { message: 'each terminal should keep at least 10 rows', timeout: 30_000 }).toEqual(['at least 10 rows', 'at least 10 rows']);
  // The panel scrolls inside what is left, instead of pushing the terminals' pane off screen.
  expect(await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight + 1)).toBe(true);
});

test('a new terminal shows its first screen once, and a reconnect replays the screen once', async ({ page }) => {
  expect(singleTerminal, 'the course needs a lesson with one terminal for this test').toBeDefined();
  await openLesson(page, singleTerminal!.slug);
  const prompts = (text: string) => text.split('\n').filter((line) => PROMPT.test(line)).length;
  expect(prompts(await terminalText(page, 0))).toBe(1);

  await typeInto(page, 0, 'echo once-$((20+1))');
  await pollFor(page, /\nonce-21\n.*# ?$/);
  const lines = (text: string) => text.split('\n').filter((line) => line === 'once-21').length;
  expect(lines(await terminalText(page, 0))).toBe(1);

  await dropAndReconnect(page);
  // The replayed screen, and typing reaches the same shell.
  await typeInto(page, 0, 'echo after-$((20+2))');
  await pollFor(page, /\nafter-22\n.*# ?$/);
  const text = await terminalText(page, 0);
  expect(lines(text)).toBe(1);
  expect(prompts(text)).toBe(1);
});
