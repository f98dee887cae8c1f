/**
 * Plays a lesson the way a learner would: opens a fresh sandbox, and for each step types every
 * runnable block into its terminal, line by line, waiting for the shell prompt after each line,
 * then runs the step's check. The course test (lessons.test.ts) asserts on what it returns, and
 * `scripts`-style callers can print the transcript while writing a lesson.
 */
import { MAX_CHECK_TIMEOUT_MS, type CheckResult } from '../../../protocol';
import type { LabClient } from '../../../lib/lab-client';
import type { Lesson, LessonStep } from '../../../lib/lessons/parse-lesson';
import { bound } from './slowdown';
import { TerminalDriver } from './terminal-driver';

/** How long one typed line may take before the runner gives up on seeing a prompt again. */
const LINE_TIMEOUT_MS = 60_000;
/** Output must stay quiet this long with a prompt under the cursor before a line counts as done. */
const QUIET_MS = 150;

export interface StepOutcome {
  step: LessonStep;
  /** The check's result before the step's blocks ran (only for checks that must fail first). */
  before?: CheckResult;
  after?: CheckResult;
}

export interface LessonRun {
  sandboxId: string;
  terminals: TerminalDriver[];
  close(): Promise<void>;
}

export class LessonFailure extends Error {}

/** Opens a sandbox for the lesson with as many terminals as it shows, each at a shell prompt. */
export async function openLessonSandbox(client: LabClient, lesson: Lesson): Promise<LessonRun> {
  const sandbox = await client.request('sandbox:open', { key: `lesson-${lesson.slug}`.slice(0, 64) });
  const first = await TerminalDriver.open(client, sandbox.sandboxId, { terminalId: sandbox.terminals[0].terminalId, cols: 120, rows: 40 });
  const terminals = [first];
  if (lesson.terminals === 2) terminals.push(await TerminalDriver.open(client, sandbox.sandboxId, { cols: 120, rows: 40 }));
  for (const terminal of terminals) await waitForPrompt(terminal, 0, 15_000);
  return {
    sandboxId: sandbox.sandboxId,
    terminals,
    async close() {
      for (const terminal of terminals) terminal.dispose();
      await client.request('sandbox:close', { sandboxId: sandbox.sandboxId }).catch(() => undefined);
    },
  };
}

/** The text of the row the cursor is on, up to the cursor. */
function cursorLine(terminal: TerminalDriver): string {
  const buffer = terminal.screen.buffer.active;
  return buffer.getLine(buffer.baseY + buffer.cursorY)?.translateToString(true, 0, buffer.cursorX) ?? '';
}

/** A bash or busybox prompt (`root@host:~# `, `nobody@host:~$ `, `/ # `) or bash's continuation prompt. */
const PROMPT = /(?:[#$]|^>) $/;

/**
 * Waits until output has arrived past `since` (chars of `received`), including a newline, and the
 * cursor sits after a prompt with the output quiet for a moment.
 */
export async function waitForPrompt(terminal: TerminalDriver, since: number, timeoutMs = LINE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + bound(timeoutMs);
  let lastLength = -1;
  let quietSince = Date.now();
  for (;;) {
    const length = terminal.received.length;
    if (length !== lastLength) {
      lastLength = length;
      quietSince = Date.now();
    }
    const fresh = terminal.received.slice(since);
    const ready = (since === 0 || /[\r\n]/.test(fresh)) && PROMPT.test(cursorLine(terminal));
    if (ready && Date.now() - quietSince >= QUIET_MS) return;
    if (terminal.exit) throw new LessonFailure(`the terminal exited (code ${terminal.exit.exitCode})`);
    if (Date.now() > deadline) throw new LessonFailure(`no shell prompt came back within ${bound(timeoutMs) / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Types one line and Enter, waits for the prompt, and returns what the line printed: the text
 * after the echo of the typed line and before the prompt's line, without terminal escapes.
 * (Leaving the echo out matters: a pattern that names the command must not match by itself.)
 */
export async function typeLine(terminal: TerminalDriver, line: string): Promise<string> {
  const since = terminal.received.length;
  terminal.run(line);
  await waitForPrompt(terminal, since);
  const text = plainText(terminal.received.slice(since));
  return text.slice(text.indexOf('\n') + 1, text.lastIndexOf('\n') + 1);
}

/** Terminal output as plain text: no escape sequences, no carriage returns. */
function plainText(output: string): string {
  return output
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '') // OSC (window title)
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '') // CSI (colour, cursor, bracketed paste)
    .replace(/\x1b[()][0-9A-Za-z]|\x1b[=>]/g, '') // charset and keypad modes
    .replace(/\r/g, '');
}

/** Types every runnable block of a step into its terminal, and asserts each block's `expect` patterns on its output. */
export async function runStepBlocks(run: LessonRun, step: LessonStep, onLine?: (terminal: number, line: string) => void, timings?: LessonTimings): Promise<void> {
  for (const block of step.blocks) {
    if (block.type !== 'code' || !block.runnable) continue;
    const terminal = run.terminals[block.terminal - 1];
    let output = '';
    for (const line of block.code.split('\n')) {
      if (!line.trim()) continue;
      onLine?.(block.terminal, line);
      output += await timed(timings?.lines, line, () => typeLine(terminal, line));
    }
    for (const expectation of block.expect ?? []) {
      if (new RegExp(expectation.pattern, 'm').test(output) === !expectation.absent) continue;
      const what = expectation.absent ? 'shows what it must not' : 'does not show what the lesson says it will';
      throw new LessonFailure(
        `the block "${block.code.split('\n')[0]}" (terminal ${block.terminal}) ${what}: /${expectation.pattern}/${expectation.absent ? ' matched' : ''}\n\nits output:\n${output.trimEnd()}`,
      );
    }
  }
}

export async function runCheck(client: LabClient, run: LessonRun, step: LessonStep): Promise<CheckResult> {
  const check = step.check!;
  // The check's own time limit is the lesson's (the lab's default when it names none); the wait
  // for its answer covers the longest a check may take.
  return client.request('check:run', { sandboxId: run.sandboxId, command: check.command, ...(check.timeoutMs ? { timeoutMs: check.timeoutMs } : {}) }, bound(MAX_CHECK_TIMEOUT_MS) + 20_000);
}

/** A readable account of a failed step: where, what the check said, and what each terminal shows. */
export function describeFailure(lesson: Lesson, step: LessonStep, what: string, result: CheckResult | undefined, run: LessonRun): string {
  const parts = [`${lesson.file}, step "${step.title}": ${what}`];
  if (result) {
    parts.push(`check exit code: ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}`);
    if (result.stdout.trim()) parts.push(`check stdout:\n${result.stdout.trimEnd()}`);
    if (result.stderr.trim()) parts.push(`check stderr:\n${result.stderr.trimEnd()}`);
  }
  run.terminals.forEach((terminal, index) => {
    const lines = terminal.bufferText().replace(/\s+$/, '').split('\n');
    parts.push(`terminal ${index + 1} (last 40 lines):\n${lines.slice(-40).join('\n')}`);
  });
  return parts.join('\n\n');
}

/**
 * Where a lesson's time went: the sandbox's start (open to first prompt), typing (every line up to
 * its prompt) and checks, with the slowest line and check. The cgroup v2 stage prints it per lesson.
 */
export interface LessonTimings {
  openMs: number;
  lines: Tally;
  checks: Tally;
}

/** One kind of work: its total time, how many, and the slowest (a line's text, a check's step). */
export interface Tally {
  ms: number;
  count: number;
  slowest?: { what: string; ms: number };
}

export function emptyTimings(): LessonTimings {
  return { openMs: 0, lines: { ms: 0, count: 0 }, checks: { ms: 0, count: 0 } };
}

/** Runs `work` and adds its time to `tally`, also when it fails. */
async function timed<T>(tally: Tally | undefined, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    if (tally) {
      const ms = Date.now() - started;
      tally.ms += ms;
      tally.count++;
      if (ms > (tally.slowest?.ms ?? -1)) tally.slowest = { what, ms };
    }
  }
}

export interface PlayOptions {
  /** Filled in as the lesson plays (also when it fails). */
  timings?: LessonTimings;
  /** Skip these steps' blocks (by index), to prove that their checks can fail. */
  skipBlocksOf?: Set<number>;
  onLine?: (terminal: number, line: string) => void;
  onStep?: (outcome: StepOutcome, index: number) => void;
  /** Stop after this step (by index). */
  stopAfter?: number;
  /** Called with the open sandbox after the last step, before it closes (to print transcripts). */
  onDone?: (run: LessonRun) => void;
}

/**
 * Plays the whole lesson and throws a LessonFailure describing the first step whose check does not
 * behave: it passed before the step (unless may-pass-before), or failed after it.
 */
export async function playLesson(client: LabClient, lesson: Lesson, options: PlayOptions = {}): Promise<StepOutcome[]> {
  const { timings } = options;
  const opening = Date.now();
  const run = await openLessonSandbox(client, lesson);
  if (timings) timings.openMs = Date.now() - opening;
  const timedCheck = (step: LessonStep) => timed(timings?.checks, step.title, () => runCheck(client, run, step));
  const outcomes: StepOutcome[] = [];
  try {
    for (const [index, step] of lesson.steps.entries()) {
      const outcome: StepOutcome = { step };
      if (step.check?.failsBefore) {
        outcome.before = await timedCheck(step);
        if (outcome.before.exitCode === 0) throw new LessonFailure(describeFailure(lesson, step, 'the check already passes before the step (add may-pass-before if that is intended)', outcome.before, run));
      }
      if (!options.skipBlocksOf?.has(index)) {
        try {
          await runStepBlocks(run, step, options.onLine, timings);
        } catch (error) {
          if (error instanceof LessonFailure) throw new LessonFailure(describeFailure(lesson, step, error.message, undefined, run));
          throw error;
        }
      }
      if (step.check) {
        outcome.after = await timedCheck(step);
        if (outcome.after.exitCode !== 0 && !options.skipBlocksOf?.has(index)) throw new LessonFailure(describeFailure(lesson, step, 'the check fails after the step', outcome.after, run));
      }
      outcomes.push(outcome);
      options.onStep?.(outcome, index);
      if (options.stopAfter === index) break;
    }
    options.onDone?.(run);
    return outcomes;
  } finally {
    await run.close();
  }
}
