/**
 * Issue 12 in the browser: the instructor gets the lab ready for a class and sees the sandboxes
 * become ready; a learner who opens the lesson then gets a live prompt.
 */
import { expect, test } from '@playwright/test';
import { E2E_INSTRUCTOR_TOKEN } from '../playwright.config';
import { openLesson } from './support/terminal';

test('“Get ready for N learners” starts sandboxes ahead of the class and shows them become ready', async ({ page, browser }) => {
  await page.goto(`/instructor#token=${E2E_INSTRUCTOR_TOKEN}`);
  await expect(page.getByTestId('class-dashboard')).toBeVisible();
  await page.getByRole('spinbutton', { name: 'How many learners to get ready for' }).fill('3');
  await page.getByTestId('warm-up-button').click();
  const progress = page.getByTestId('warm-up-progress');
  await expect(progress).toBeVisible();
  // Other tests share this lab and may claim some; every one still reserved becomes ready.
  await expect(progress).toHaveText(/^(\d) of \1 sandboxes ready/, { timeout: 60_000 });

  const learner = await (await browser.newContext()).newPage();
  await openLesson(learner, 'uts');
  await progress.getByRole('button', { name: 'cancel' }).click();
  await expect(progress).toBeHidden();
});
