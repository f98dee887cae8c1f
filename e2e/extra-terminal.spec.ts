/**
 * A lesson with one terminal can still get a second shell in the same sandbox, and it survives
 * a reload like the first one.
 */
import { expect, test } from '@playwright/test';
import { loadLessons } from '../lib/lessons/load-lessons';
import { expectLive, openLesson, pollFor, PROMPT, typeInto } from './support/terminal';

const singleTerminal = loadLessons().find((lesson) => lesson.terminals === 1);

// Three page loads (open, two reloads) and two shells in one test: beside `stress-ng --cpu 2` it
// took 29-50 s of the default 60 s (each step slower in proportion, none waiting on another), so
// it gets the budget of the other multi-load specs rather than failing on a busy box's arithmetic.
test.slow();

test('“+ Terminal” opens another shell in the same sandbox, which comes back after a reload', async ({ page }) => {
  expect(singleTerminal, 'the course needs a lesson with one terminal for this test').toBeDefined();
  await openLesson(page, singleTerminal!.slug);
  await expect(page.getByTestId('terminal-2')).toHaveCount(0);

  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await pollFor(page, PROMPT, { slot: 1 });
  await typeInto(page, 0, 'echo from-the-first-shell > /tmp/note; echo $$ > /tmp/first.pid');
  await pollFor(page, /first\.pid\n.*# ?$/);
  await typeInto(page, 1, 'cat /tmp/note; kill -0 $(cat /tmp/first.pid) && echo first-shell-visible');
  await pollFor(page, 'from-the-first-shell\nfirst-shell-visible\n', { slot: 1 });

  await page.reload();
  await expectLive(page.getByTestId('terminal-status'));
  await pollFor(page, 'first-shell-visible\n', { slot: 1 });

  await page.getByRole('button', { name: 'Close terminal 2' }).click();
  await expect(page.getByTestId('terminal-2')).toHaveCount(0);
  await page.reload();
  await expectLive(page.getByTestId('terminal-status'));
  await pollFor(page, PROMPT);
  await expect(page.getByTestId('terminal-2')).toHaveCount(0);
});
