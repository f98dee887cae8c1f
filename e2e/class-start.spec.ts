/**
 * In the browser: the instructor gets the lab ready for a class from the dashboard and
 * sees the sandboxes become ready. (That a learner then claims one and gets a prompt is proven
 * against real sandboxes in lab-server/test/warm-pool.test.ts.)
 */
import { expect, test } from '@playwright/test';
import { E2E_INSTRUCTOR_TOKEN } from '../playwright.config';

test('“Get ready for N learners” starts sandboxes ahead of the class and shows them become ready', async ({ page }) => {
  await page.goto(`/instructor#token=${E2E_INSTRUCTOR_TOKEN}`);
  await expect(page.getByTestId('class-dashboard')).toBeVisible();
  await page.getByRole('spinbutton', { name: 'How many learners to get ready for' }).fill('3');
  await page.getByTestId('warm-up-button').click();
  const progress = page.getByTestId('warm-up-progress');
  await expect(progress).toBeVisible();
  // Other tests share this lab and may claim some; every one still reserved becomes ready.
  await expect(progress).toHaveText(/^(\d) of \1 sandboxes ready/, { timeout: 45_000 });
  await progress.getByRole('button', { name: 'cancel' }).click();
  await expect(progress).toBeHidden();
});
