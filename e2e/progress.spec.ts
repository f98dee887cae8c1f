/**
 * Progress that follows the learner: a check passed in one browser is recorded by lab-server,
 * and a resume code brings it, with the learner's name, into a brand-new browser context. The
 * instructor's dashboard exports it as CSV and charts it; "Clear my record" takes it out again.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { loadLessons } from '../lib/lessons/load-lessons';
import { E2E_INSTRUCTOR_TOKEN } from './support/lab-env';
import { openLesson, pollFor, SETTLE_MS, typeInto } from './support/terminal';

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

test("the dashboard's CSV export has exactly the learner's pass, and none once they clear their record", async ({ browser }) => {
  // A learner's browser with a live terminal and a check, then the instructor's dashboard and two
  // downloads: the resume test's work and a dashboard's more. Under a load of 33 on the 2-core box
  // the learner's half alone took 85 s (each fill or click 4-5 s, the lesson page 13 s): the
  // work it does, not a wait on something that may never come, so three times the default budget.
  test.slow();
  const lesson = loadLessons().find((candidate) => candidate.slug === 'namespaces')!;
  const pinStep = lesson.steps.find((candidate) => candidate.check?.command.includes('/run/uts-keep'))!;
  // Other tests pass this step too, in the same lab: this learner is told apart by a name of their own.
  const name = `Csv ${Math.random().toString(36).slice(2, 8)}`;
  const learner = await browser.newContext();
  const instructor = await browser.newContext();
  try {
    const page = await learner.newPage();
    await page.goto('/');
    const picker = page.getByTestId('display-name-picker');
    await picker.getByRole('textbox', { name: 'Your name' }).fill(name);
    await picker.getByRole('button', { name: 'Save name' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Your instructor will see you as' })).toContainText(name);
    await openLesson(page, lesson.slug);
    const before = Date.now();
    await typeInto(page, 0, 'touch /run/uts-keep && unshare --uts=/run/uts-keep hostname kept-alive && echo pinned-$((6*7))');
    await pollFor(page, 'pinned-42');
    const pin = step(page, /Keep a namespace alive with a bind mount/);
    await pin.getByTestId('step-check').getByRole('button', { name: 'Check' }).click();
    await expect(pin.getByTestId('step-check')).toHaveAttribute('data-outcome', 'passed');

    const dashboard = await instructor.newPage();
    await dashboard.goto(`/instructor#token=${E2E_INSTRUCTOR_TOKEN}`);
    const record = dashboard.getByTestId('class-record');
    await expect(record).toBeVisible({ timeout: SETTLE_MS });
    // The lesson's chart of passes over time is there, with this pass in it.
    await expect(record.getByText(lesson.title.replace(/`/g, ''), { exact: true })).toBeVisible();

    const rows = await exportedRows(dashboard, name);
    expect(rows).toHaveLength(1);
    const [learnerName, lessonSlug, stepId, passedAt] = rows[0].split(',');
    expect([learnerName, lessonSlug, stepId]).toEqual([name, lesson.slug, pinStep.id]);
    expect(Date.parse(passedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(passedAt)).toBeLessThanOrEqual(Date.now());

    await page.getByRole('button', { name: 'Continue elsewhere' }).click();
    await page.getByRole('button', { name: 'Clear my record' }).click();
    await page.getByRole('group', { name: 'Confirm clearing your record' }).getByRole('button', { name: 'Clear', exact: true }).click();
    await expect(page.getByTestId('resume-elsewhere').getByRole('status')).toContainText('Your record is cleared');
    await expect.poll(() => exportedRows(dashboard, name), { message: "the export should drop the learner's pass" }).toEqual([]);
  } finally {
    await learner.close();
    await instructor.close();
  }
});

/** Clicks Export CSV on the dashboard, as an instructor would, and returns the learner's rows. */
async function exportedRows(dashboard: Page, name: string): Promise<string[]> {
  const [download] = await Promise.all([dashboard.waitForEvent('download'), dashboard.getByTestId('class-record').getByRole('button', { name: 'Export CSV' }).click()]);
  const lines = readFileSync((await download.path())!, 'utf8').split('\r\n');
  expect(lines[0]).toBe('learner,lesson,step,passed_at');
  return lines.filter((line) => line.startsWith(`${name},`));
}
