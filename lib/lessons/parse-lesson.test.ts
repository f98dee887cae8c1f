import { describe, expect, it } from 'vitest';
import { LessonError, parseLesson } from './parse-lesson';

const front = (extra = '') => `---
title: UTS namespace
slug: uts
order: 9
summary: Hostnames that change only inside.
duration: 20
objectives:
  - See that the hostname is per namespace
${extra}---
`;

const valid = `${front()}
Intro text.

## Look at the hostname

Type this:

\`\`\`sh run
hostname
\`\`\`

\`\`\`check hint="Run the hostname command first."
test -n "$(hostname)"
\`\`\`

## Change it in a new namespace

\`\`\`sh run terminal=1
unshare -u sh -c 'hostname inner; hostname'
\`\`\`

\`\`\`check hint="Use unshare -u." may-pass-before timeout=5
true
\`\`\`
`;

describe('parseLesson', () => {
  it('reads frontmatter, intro, steps, runnable blocks and checks', () => {
    const lesson = parseLesson(valid, 'lessons/09-uts.md');
    expect(lesson.title).toBe('UTS namespace');
    expect(lesson.terminals).toBe(1);
    expect(lesson.intro).toEqual([{ type: 'markdown', markdown: 'Intro text.' }]);
    expect(lesson.steps.map((s) => s.id)).toEqual(['look-at-the-hostname', 'change-it-in-a-new-namespace']);
    const [first, second] = lesson.steps;
    expect(first.blocks).toEqual([
      { type: 'markdown', markdown: 'Type this:' },
      { type: 'code', lang: 'sh', code: 'hostname', runnable: true, terminal: 1 },
    ]);
    expect(first.check).toEqual({ command: 'test -n "$(hostname)"', hint: 'Run the hostname command first.', failsBefore: true });
    expect(second.check).toMatchObject({ failsBefore: false, timeoutMs: 5000 });
  });

  it('keeps plain code blocks without buttons', () => {
    const lesson = parseLesson(`${front()}\n## Step\n\n\`\`\`text\noutput\n\`\`\`\n\n\`\`\`check hint="h"\ntrue\n\`\`\`\n`, 'x.md');
    expect(lesson.steps[0].blocks[0]).toMatchObject({ type: 'code', runnable: false });
  });

  it('attaches expect blocks to the runnable block before them, and never shows them', () => {
    const source = valid.replace('```sh run\nhostname\n```\n', '```sh run\nhostname\n```\n\n```expect\n^sbx-\n! ^localhost$\n```\n');
    const lesson = parseLesson(source, 'x.md');
    expect(lesson.steps[0].blocks).toEqual([
      { type: 'markdown', markdown: 'Type this:' },
      { type: 'code', lang: 'sh', code: 'hostname', runnable: true, terminal: 1, expect: [{ pattern: '^sbx-', absent: false }, { pattern: '^localhost$', absent: true }] },
    ]);
  });

  const broken: Array<[string, string, RegExp]> = [
    ['an expect block after text', valid.replace('Type this:', 'Type this:\n\n```expect\nx\n```'), /expect block must come right after a runnable block/],
    ['an expect block with a bad pattern', valid.replace('```sh run\nhostname\n```\n', '```sh run\nhostname\n```\n\n```expect\n(unclosed\n```\n'), /"\(unclosed" is not a valid regular expression/],
    ['two expect blocks for one run block', valid.replace('```sh run\nhostname\n```\n', '```sh run\nhostname\n```\n\n```expect\na\n```\n\n```expect\nb\n```\n'), /two expect blocks/],
    ['missing title', valid.replace('title: UTS namespace\n', ''), /frontmatter field "title"/],
    ['bad slug', valid.replace('slug: uts', 'slug: UTS Lesson'), /"slug": use lowercase/],
    ['bad YAML', valid.replace('duration: 20', 'duration: [20'), /not valid YAML|frontmatter field/],
    ['unknown field', valid.replace('duration: 20', 'duration: 20\ncolour: red'), /frontmatter field/],
    ['a check without a hint', valid.replace('check hint="Run the hostname command first."', 'check'), /step "Look at the hostname" has no hint/],
    ['two checks in a step', valid.replace('## Change it in a new namespace', ''), /more than one check/],
    ['no check at all', valid.replace(/```check[^`]*```/g, ''), /no check/],
    ['no steps', `${front()}\nJust text.\n`, /no steps/],
    ['terminal 2 with one terminal', valid.replace('terminal=1', 'terminal=2'), /terminals: 1/],
    ['check in the intro', `${front()}\n\`\`\`check hint="h"\ntrue\n\`\`\`\n\n## S\n`, /inside a step/],
  ];
  for (const [name, source, reason] of broken) {
    it(`rejects ${name}, naming the file`, () => {
      expect(() => parseLesson(source, 'lessons/09-uts.md')).toThrow(LessonError);
      expect(() => parseLesson(source, 'lessons/09-uts.md')).toThrow(/^lessons\/09-uts\.md: /);
      expect(() => parseLesson(source, 'lessons/09-uts.md')).toThrow(reason);
    });
  }
});
