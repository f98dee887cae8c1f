/**
 * A pty without a process, for unit tests of what sits above the runtime (LabTerminal, the
 * classroom): the test plays the program's output and exit, and reads what was typed, how big
 * the terminal is and whether flow control has paused the reading. Needs no root and no runc.
 */
import type { Disposable, PtyProcess } from './runtime';

export class FakePty implements PtyProcess {
  readonly pid = 4242;
  /** Everything written to the pty (the learner's keystrokes). */
  input = '';
  size: { cols: number; rows: number } | undefined;
  paused = false;
  killed = false;
  private readonly dataListeners = new Set<(data: string) => void>();
  private readonly exitListeners = new Set<(exit: { exitCode: number; signal?: number }) => void>();

  /** The program prints `data`. */
  output(data: string): void {
    for (const listener of this.dataListeners) listener(data);
  }

  /** The program ends. */
  exit(exitCode = 0, signal?: number): void {
    for (const listener of this.exitListeners) listener({ exitCode, signal });
  }

  onData(listener: (data: string) => void): Disposable {
    this.dataListeners.add(listener);
    return { dispose: () => this.dataListeners.delete(listener) };
  }

  onExit(listener: (exit: { exitCode: number; signal?: number }) => void): Disposable {
    this.exitListeners.add(listener);
    return { dispose: () => this.exitListeners.delete(listener) };
  }

  write(data: string): void {
    this.input += data;
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  kill(): void {
    this.killed = true;
  }
}
