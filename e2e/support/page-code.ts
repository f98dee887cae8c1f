/**
 * Finding a lesson page's own code among the built JavaScript, for tests that hold it back and so
 * keep the page from hydrating.
 */
import type { APIRequestContext } from '@playwright/test';

/**
 * What marks the lesson page's own code in the built JavaScript: the chunk that holds
 * LessonWorkspace (its split layout's label survives minifying). The page cannot hydrate without it.
 */
export const PAGE_CODE_MARK = 'startLabel:"Lesson"';

/** The scripts (as the page's HTML lists them) that hold the lesson page's own code. */
export async function pageCodeChunks(request: APIRequestContext, lesson: string): Promise<Set<string>> {
  const html = await (await request.get(lesson)).text();
  const scripts = [...new Set(html.match(/\/_next\/static\/chunks\/[\w.-]+\.js/g) ?? [])];
  const chunks = new Set<string>();
  for (const script of scripts) {
    if ((await (await request.get(script)).text()).includes(PAGE_CODE_MARK)) chunks.add(script);
  }
  return chunks;
}
