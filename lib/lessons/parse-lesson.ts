/**
 * Parses a lesson file (`lessons/NN-slug.md`) into steps, runnable blocks and checks.
 *
 * The format is Markdown with YAML frontmatter, written so that an instructor can author a
 * lesson without touching code:
 *
 * - `## ` headings start steps; text before the first one is the introduction.
 * - A fenced block whose info string contains `run` gets Run and Copy buttons. `terminal=2`
 *   sends it to the lesson's second terminal.
 * - A fenced block in the language `check` is the step's check: a bash script run as root in
 *   the learner's sandbox without a tty; exit status 0 means the step is done. It needs a
 *   `hint="..."` shown when it fails. By default the course test runner also asserts that the
 *   check fails before the step's blocks run; `may-pass-before` turns that off for checks that
 *   are true from the start. `timeout=SECONDS` overrides the default timeout.
 * - A fenced block in the language `expect`, right after a runnable block, states what that block
 *   prints: one JavaScript regular expression per line (multiline mode, so `^` and `$` match at
 *   line ends), each of which must match the block's output; a line starting with `! ` must not
 *   match. Learners never see it; the course test runner asserts it, so an "Observe:" sentence
 *   cannot drift from what the commands really print.
 *
 * Any mistake throws a LessonError that names the file and says what to fix, so a broken lesson
 * fails the build instead of reaching a learner.
 */
import matter from 'gray-matter';
import { fromMarkdown } from 'mdast-util-from-markdown';
import type { Code, Heading, RootContent } from 'mdast';
import { z } from 'zod';
import { ObserveView } from '../../protocol/observe-events';

const OLD_PANEL_NAMES: Record<string, ObserveView> = { hostview: 'hostView', nsmap: 'nsMap' };

const Frontmatter = z.strictObject({
  title: z.string().min(3),
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lowercase letters, digits and dashes'),
  order: z.int().min(1),
  summary: z.string().min(10).max(200),
  /** Minutes. */
  duration: z.int().min(1).max(240),
  objectives: z.array(z.string().min(3)).min(1),
  /** How many terminals the lesson shows; the second is another shell in the same sandbox. */
  terminals: z.union([z.literal(1), z.literal(2)]).default(1),
  /**
   * The observation panel opened by default, if any: the view's name on the wire (meters,
   * hostView, nsMap). The older spellings hostview and nsmap are read as those names.
   */
  panel: z.preprocess((value) => (typeof value === 'string' ? (OLD_PANEL_NAMES[value] ?? value) : value), ObserveView).optional(),
});

export type MarkdownBlock = { type: 'markdown'; markdown: string };
export type CodeBlock = {
  type: 'code';
  lang: string;
  code: string;
  /** Gets Run and Copy buttons. */
  runnable: boolean;
  /** 1 or 2: which of the lesson's terminals Run types into. */
  terminal: 1 | 2;
  /** What the block's output must (and must not) contain, from an `expect` block after it. */
  expect?: OutputExpectation[];
};
export interface OutputExpectation {
  /** A JavaScript regular expression, matched in multiline mode. */
  pattern: string;
  /** True for a `! ` line: the pattern must not match. */
  absent: boolean;
}
export type LessonBlock = MarkdownBlock | CodeBlock;

export interface LessonCheck {
  command: string;
  hint: string;
  /** The course runner asserts that the check fails before the step (true unless `may-pass-before`). */
  failsBefore: boolean;
  timeoutMs?: number;
}

export interface LessonStep {
  /** Stable within the lesson: derived from the heading. Progress is stored under it. */
  id: string;
  title: string;
  blocks: LessonBlock[];
  check?: LessonCheck;
}

export interface Lesson extends z.output<typeof Frontmatter> {
  /** Path of the source file, for error messages. */
  file: string;
  intro: LessonBlock[];
  steps: LessonStep[];
}

export class LessonError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'LessonError';
  }
}

export function parseLesson(source: string, file: string): Lesson {
  const fail = (reason: string): never => {
    throw new LessonError(file, reason);
  };
  let parsed: matter.GrayMatterFile<string>;
  try {
    // gray-matter caches by content; a fresh options object keeps every call independent.
    parsed = matter(source, {});
  } catch (error) {
    return fail(`the frontmatter is not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const front = Frontmatter.safeParse(parsed.data);
  if (!front.success) {
    const issue = front.error.issues[0];
    return fail(`frontmatter field "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }

  const body = parsed.content;
  const tree = fromMarkdown(body);
  const intro: LessonBlock[] = [];
  const steps: LessonStep[] = [];
  let current: { blocks: LessonBlock[]; step?: LessonStep } = { blocks: intro };
  const sliceOf = (node: RootContent) => body.slice(node.position!.start.offset, node.position!.end.offset);
  const pushMarkdown = (markdown: string) => {
    const last = current.blocks.at(-1);
    if (last?.type === 'markdown') last.markdown += `\n\n${markdown}`;
    else current.blocks.push({ type: 'markdown', markdown });
  };

  for (const node of tree.children) {
    if (node.type === 'heading' && (node as Heading).depth === 2) {
      const title = sliceOf(node).replace(/^##\s*/, '').trim();
      const step: LessonStep = { id: uniqueId(slugify(title), steps), title, blocks: [] };
      steps.push(step);
      current = { blocks: step.blocks, step };
      continue;
    }
    if (node.type === 'code') {
      const code = node as Code;
      const meta = parseMeta(code.meta ?? '');
      if (code.lang === 'check') {
        const where = current.step ? `step "${current.step.title}"` : 'the introduction';
        if (!current.step) fail('a check block must be inside a step (after a "## " heading)');
        if (current.step!.check) fail(`${where} has more than one check block`);
        if (!code.value.trim()) fail(`${where} has an empty check block`);
        if (!meta.values.hint) fail(`the check in ${where} has no hint="..." to show when it fails`);
        const timeout = meta.values.timeout ? Number(meta.values.timeout) : undefined;
        if (timeout !== undefined && !(timeout > 0 && timeout <= 60)) fail(`the check in ${where} has timeout=${meta.values.timeout}; use 1 to 60 seconds`);
        current.step!.check = {
          command: code.value,
          hint: meta.values.hint,
          failsBefore: !meta.flags.has('may-pass-before'),
          ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
        };
        continue;
      }
      if (code.lang === 'expect') {
        const last = current.blocks.at(-1);
        if (last?.type !== 'code' || !last.runnable) fail(`an expect block must come right after a runnable block (near "${code.value.split('\n')[0]}")`);
        const block = last as CodeBlock;
        if (block.expect) fail(`a runnable block has two expect blocks (near "${code.value.split('\n')[0]}")`);
        block.expect = parseExpectations(code.value, fail);
        continue;
      }
      const runnable = meta.flags.has('run');
      const terminal = meta.values.terminal === '2' ? 2 : 1;
      if (meta.values.terminal && !['1', '2'].includes(meta.values.terminal)) fail(`a code block has terminal=${meta.values.terminal}; use 1 or 2`);
      if (terminal === 2 && front.data.terminals < 2) fail('a code block runs in terminal=2, but the frontmatter says terminals: 1');
      if (runnable && !code.value.trim()) fail('a runnable code block is empty');
      current.blocks.push({ type: 'code', lang: code.lang ?? 'text', code: code.value, runnable, terminal });
      continue;
    }
    pushMarkdown(sliceOf(node));
  }

  if (steps.length === 0) fail('the lesson has no steps: start each step with a "## " heading');
  if (!steps.some((step) => step.check)) fail('the lesson has no check, so a learner could never complete a step; add a ```check block to a step');
  return { ...front.data, file, intro, steps };
}

function parseExpectations(text: string, fail: (reason: string) => never): OutputExpectation[] {
  const expectations = text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const absent = line.startsWith('! ');
      const pattern = absent ? line.slice(2) : line;
      try {
        new RegExp(pattern, 'm');
      } catch (error) {
        fail(`the expect pattern "${pattern}" is not a valid regular expression (${(error as Error).message})`);
      }
      return { pattern, absent };
    });
  if (expectations.length === 0) fail('an expect block is empty');
  return expectations;
}

/** Splits `run terminal=2 hint="a b"` into flags and key=value pairs. */
function parseMeta(meta: string): { flags: Set<string>; values: Record<string, string> } {
  const flags = new Set<string>();
  const values: Record<string, string> = {};
  for (const match of meta.matchAll(/([a-z][a-z0-9-]*)(?:=(?:"((?:[^"\\]|\\.)*)"|(\S+)))?/g)) {
    const [, key, quoted, bare] = match;
    if (quoted !== undefined) values[key] = quoted.replace(/\\(.)/g, '$1');
    else if (bare !== undefined) values[key] = bare;
    else flags.add(key);
  }
  return { flags, values };
}

function slugify(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/`/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'step'
  );
}

function uniqueId(id: string, steps: LessonStep[]): string {
  let candidate = id;
  for (let n = 2; steps.some((s) => s.id === candidate); n++) candidate = `${id}-${n}`;
  return candidate;
}
