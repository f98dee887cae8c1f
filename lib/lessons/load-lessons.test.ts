import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadLessons } from './load-lessons';
import { LessonError } from './parse-lesson';

/**
 * loadLessons() is what the pages (and so `next build`) load: a broken lesson must stop the
 * build with the file and the reason.
 */
describe('loadLessons', () => {
  let project: string;
  const uts = readFileSync(join(process.cwd(), 'lessons/08-uts.md'), 'utf8');
  const write = (name: string, text: string) => writeFileSync(join(project, 'lessons', name), text);

  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), 'isolab-lessons-'));
    mkdirSync(join(project, 'lessons'));
    vi.spyOn(process, 'cwd').mockReturnValue(project);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(project, { recursive: true, force: true });
  });

  it('reads every lesson in agenda order, whatever the file names', () => {
    write('b.md', uts);
    write('a.md', uts.replace('slug: uts', 'slug: first').replace('order: 8', 'order: 1'));
    write('notes.txt', 'not a lesson');
    expect(loadLessons().map((lesson) => [lesson.slug, lesson.file])).toEqual([
      ['first', 'lessons/a.md'],
      ['uts', 'lessons/b.md'],
    ]);
  });

  it('fails on a broken lesson, naming the file and the reason', () => {
    write('08-uts.md', uts);
    write('10-broken.md', uts.replace('slug: uts', 'slug: broken').replace('order: 8', 'order: 10').replace(/^duration: 25\n/m, ''));
    expect(() => loadLessons()).toThrow(LessonError);
    expect(() => loadLessons()).toThrow(/^lessons\/10-broken\.md: frontmatter field "duration"/);
  });

  it('fails when two lessons share a slug or a place in the agenda', () => {
    write('a.md', uts);
    write('b.md', uts.replace('order: 8', 'order: 10'));
    expect(() => loadLessons()).toThrow(/lessons\/a\.md: slug "uts" is also used by lessons\/b\.md/);
    write('b.md', uts.replace('slug: uts', 'slug: other'));
    expect(() => loadLessons()).toThrow(/order 8 is also used by/);
  });
});
