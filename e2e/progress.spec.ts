/**
 * Progress that follows the learner: a check passed in one browser is recorded by lab-server,
 * and a resume code brings it, with the learner's name, into a brand-new browser context.
 */
import { expect, test, type Page } from '@playwright/test';
import { openLesson, pollFor, typeInto } from './support/terminal';

const step = (page: Page, title: RegExp) => page.getByRole('region', { name: title });

test('a resume code brings the recorded progress into a new browser', async ({ page, browser }) => {
  // Two browsers, a lesson with a live terminal and a check: more than one lesson test does.
  test.setTimeout(90_000);
  await openLesson(page, 'namespaces');
  const pin = step(page, /Keep a namespace alive with a bind mount/);
  await typeInto(page, 0, 'touch /run/uts-keep && unshare --uts=/run/uts-keep hostname kept-alive && echo pinned-$((6*7))');
  await pollFor(page, 'pinned-42');
  await pin.getByTestId('step-check').getByRole('button', { name: 'Check' }).click();
  await expect(pin.getByTestId('step-check')).toHaveAttribute('data-outcome', 'passed');

  await page.getByRole('button', { name: 'Continue elsewhere' }).click();
  const code = (await page.getByTestId('resume-code').textContent())?.trim() ?? '';
  expect(code).toMatch(/^[2-9A-Z]{4}-[2-9A-Z]{4}$/);

  // Another browser: no storage, no session, nothing of the first one.
  const elsewhere = await browser.newContext();
  try {
    const other = await elsewhere.newPage();
    await other.goto('/resume');
    await other.getByLabel('Resume code').fill(code.toLowerCase());
    await other.getByRole('button', { name: 'Continue' }).click();
    await expect(other.getByTestId('resume-done')).toContainText('1 step passed');

    await other.getByRole('link', { name: 'Go to the course' }).click();
    await expect(other.getByTestId('progress-namespaces')).toHaveAttribute('data-done', '1');
  } finally {
    await elsewhere.close();
  }
});
