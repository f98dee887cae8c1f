/**
 * Every lesson the course has (as lib/lessons/load-lessons.ts finds them) opens as a working
 * page: no error page, its diagrams load, its terminal goes live at a prompt, and the browser
 * logs no error on the way. A lesson added tomorrow is covered without touching this file.
 */
import { mkdirSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { loadLessons } from '../lib/lessons/load-lessons';
import { expectLive, pollFor, PROMPT } from './support/terminal';

const lessons = loadLessons();

test('the course map lists every lesson in agenda order', async ({ page }) => {
  await page.goto('/');
  const titles = page.getByTestId('lesson-card');
  await expect(titles).toHaveCount(lessons.length);
  for (const [index, lesson] of lessons.entries()) {
    await expect(titles.nth(index)).toContainText(lesson.title.replace(/`/g, ''));
    await expect(titles.nth(index)).toContainText(`${lesson.duration} min`);
    await expect(titles.nth(index)).toContainText(`0/${lesson.steps.length} steps`);
  }
  await expect(page.getByTestId('continue-card').getByRole('link', { name: 'Start the course' })).toHaveAttribute('href', `/lessons/${lessons[0].slug}`);
});

test('the agenda lists lessons, objectives and durations, and prints without the app chrome', async ({ page }) => {
  await page.goto('/agenda');
  const entries = page.getByTestId('agenda-lesson');
  await expect(entries).toHaveCount(lessons.length);
  for (const [index, lesson] of lessons.entries()) {
    await expect(entries.nth(index)).toContainText(`${lesson.duration} min`);
    for (const objective of lesson.objectives) await expect(entries.nth(index)).toContainText(objective.replace(/`/g, ''));
  }
  const total = lessons.reduce((sum, lesson) => sum + lesson.duration, 0);
  await expect(page.getByTestId('agenda-total')).toContainText(`Total: ${Math.floor(total / 60)} h`);
  await page.emulateMedia({ media: 'print' });
  await expect(page.getByRole('banner')).toBeHidden();
  await expect(page.getByRole('button', { name: 'Print agenda' })).toBeHidden();
  await expect(entries.first()).toBeVisible();
});

for (const lesson of lessons) {
  test(`lesson ${lesson.order} (${lesson.file}) opens with its diagrams and a live terminal, and no console errors`, async ({ page }) => {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    const failedRequests: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
    });

    const response = await page.goto(`/lessons/${lesson.slug}`);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(lesson.title.replace(/`/g, ''));
    await expect(page.getByTestId('error-page')).toHaveCount(0);
    await expect(page.locator('section[id] > h2')).toHaveCount(lesson.steps.length);

    const images = page.locator('article img');
    for (let index = 0; index < (await images.count()); index++) {
      const image = images.nth(index);
      await image.scrollIntoViewIfNeeded();
      await expect.poll(() => image.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth > 0), { message: `image ${await image.getAttribute('src')} loads` }).toBe(true);
      expect(await image.getAttribute('alt'), 'every diagram has alt text').toBeTruthy();
    }

    await expectLive(page.getByTestId('terminal-status'));
    for (let slot = 0; slot < lesson.terminals; slot++) await pollFor(page, PROMPT, { slot });
    expect(failedRequests).toEqual([]);
    expect(errors).toEqual([]);

    // One picture per lesson, for whoever writes or reviews lessons to look at.
    mkdirSync('e2e/output/lessons', { recursive: true });
    const firstImage = images.first();
    if ((await images.count()) > 0) await firstImage.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `e2e/output/lessons/${String(lesson.order).padStart(2, '0')}-${lesson.slug}.png` });
  });
}
