/**
 * Observing a sandbox in the browser: on the cgroups lesson (which opens the meters by default), a memory hog
 * started from a Run button makes the memory meter move and puts the OOM kill on the timeline.
 */
import { expect, test, type Page } from '@playwright/test';
import { openLesson, pollFor } from './support/terminal';

const MiB = 1024 * 1024;

/** Clicks Run on the lesson's code block that contains `text`. */
async function runBlock(page: Page, text: string): Promise<void> {
  const block = page.getByTestId('runnable-block').filter({ hasText: text });
  await expect(block, `a runnable block containing "${text}"`).toHaveCount(1);
  await block.getByTestId('run-button').click();
}

test('a memory hog run from the cgroups lesson moves the memory meter and shows the OOM kill', async ({ page }) => {
  await openLesson(page, 'cgroups');
  const panel = page.locator('[data-observe-panel="meters"]');
  // The panels' code loads once terminal 1 is on screen.
  await expect(panel, 'the cgroups lesson opens the meters').toBeVisible({ timeout: 30_000 });
  // Streaming starts once the page has hydrated and the sandbox is live.
  await expect(panel).toHaveAttribute('data-streaming', 'true', { timeout: 30_000 });

  const memory = panel.locator('[data-meter="memory"]');
  const peak = memory.locator('[data-peak-bytes]');
  await expect(peak).toBeVisible({ timeout: 30_000 });
  const peakBefore = Number(await peak.getAttribute('data-peak-bytes'));
  expect(peakBefore).toBeLessThan(64 * MiB);
  await expect(memory).toContainText('0 OOM kills');

  // The lesson's own steps: find the cgroup version, make the "demo" cgroup, limit it to 100M.
  await runBlock(page, 'then CG=v2; else CG=v1; fi');
  await pollFor(page, /This host runs cgroup v[12]/);
  await runBlock(page, 'mkdir -p $MEM $PIDS $CPU');
  await runBlock(page, 'echo 100M > $MEM/memory.max');
  await pollFor(page, '104857600');

  // The hog: tail /dev/zero inside "demo" grows until the OOM killer ends it.
  await runBlock(page, 'exec tail /dev/zero');
  await pollFor(page, 'exit status: 137', { timeout: 30_000 });

  await expect(panel.locator('[data-event="oom-kill"]'), 'the OOM kill on the timeline').toBeVisible({ timeout: 15_000 });
  await expect(memory).toContainText('1 OOM kill');
  // The hog took the sandbox's memory to the 100M limit of "demo": the meter's peak says so.
  await expect.poll(async () => Number(await peak.getAttribute('data-peak-bytes'))).toBeGreaterThan(90 * MiB);

  await panel.screenshot({ path: 'e2e/output/observe-oom-meters.png' });
  await page.screenshot({ path: 'e2e/output/observe-oom-lesson.png', fullPage: true });
});
