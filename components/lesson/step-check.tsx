'use client';

import { useState, type ReactNode } from 'react';
import type { CheckResult } from '../../protocol/common';
import { isStepDone } from '../progress/progress-store';
import { progressStore, useProgress } from '../progress/use-progress';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { CheckIcon, LightbulbIcon, TargetIcon, XIcon } from '../ui/icons';
import { useConnectionStatus, useWorkspace } from './workspace-context';

type Outcome =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'passed'; result: CheckResult }
  | { kind: 'failed'; result: CheckResult }
  | { kind: 'error'; message: string };

export interface StepCheckProps {
  stepId: string;
  command: string;
  hint: string;
  timeoutMs?: number;
}

/**
 * The step's "Check" button: asks lab-server to run the step's check in the learner's sandbox
 * and shows pass or fail; a fail shows the hint. lab-server records a pass itself (the class
 * record); this browser's copy follows. `command` is shown, never sent.
 */
export function StepCheck({ stepId, command, hint, timeoutMs }: StepCheckProps) {
  const { connection, slug } = useWorkspace();
  const status = useConnectionStatus(connection);
  const progress = useProgress();
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'idle' });
  const doneBefore = isStepDone(progress, slug, stepId);
  const live = status.state === 'live';

  const check = async () => {
    if (!connection) return;
    setOutcome({ kind: 'running' });
    try {
      const result = await connection.checkStep(slug, stepId, timeoutMs);
      if (result.passed) {
        progressStore.markStepDone(slug, stepId);
        setOutcome({ kind: 'passed', result });
      } else {
        setOutcome({ kind: 'failed', result });
      }
    } catch (error) {
      setOutcome({ kind: 'error', message: (error as Error).message });
    }
  };

  return (
    <div className="rounded-lg border bg-card p-3.5" data-testid="step-check" data-outcome={outcome.kind}>
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="primary" size="sm" onClick={check} disabled={!live || outcome.kind === 'running'} aria-describedby={`${stepId}-check-note`}>
          {outcome.kind === 'running' ? <span aria-hidden className="size-3.5 animate-spin rounded-full border-2 border-current border-t-transparent" /> : <TargetIcon />}
          {outcome.kind === 'running' ? 'Checking…' : 'Check'}
        </Button>
        <p id={`${stepId}-check-note`} className="min-w-0 flex-1 text-sm text-muted-foreground">
          {doneBefore && outcome.kind === 'idle' ? (
            <span className="inline-flex items-center gap-1.5 font-medium text-success">
              <CheckIcon className="size-4" /> Passed earlier. Check again any time.
            </span>
          ) : live ? (
            'Runs a short test in your sandbox to see whether the step worked.'
          ) : (
            'Available once the terminal is live.'
          )}
        </p>
      </div>

      <div aria-live="polite">
        {outcome.kind === 'passed' ? (
          <ResultNote tone="success" icon={<CheckIcon />} title="Check passed: step done.">
            <Details result={outcome.result} command={command} />
          </ResultNote>
        ) : null}
        {outcome.kind === 'failed' ? (
          <ResultNote tone="warning" icon={<XIcon />} title={outcome.result.timedOut ? 'Not yet: the check ran out of time.' : 'Not yet.'}>
            <p className="flex gap-2 text-foreground" data-testid="check-hint">
              <LightbulbIcon className="mt-0.5 size-4 shrink-0 text-warning" />
              <span>{hint}</span>
            </p>
            <Details result={outcome.result} command={command} />
          </ResultNote>
        ) : null}
        {outcome.kind === 'error' ? (
          <ResultNote tone="danger" icon={<XIcon />} title="The check could not run.">
            <p>{outcome.message}</p>
          </ResultNote>
        ) : null}
      </div>
    </div>
  );
}

function ResultNote({ tone, icon, title, children }: { tone: 'success' | 'warning' | 'danger'; icon: ReactNode; title: string; children?: ReactNode }) {
  return (
    <div
      className={cn(
        'mt-3 space-y-2 rounded-md border px-3 py-2.5 text-sm [&_svg]:size-4',
        tone === 'success' && 'border-success/30 bg-success-soft',
        tone === 'warning' && 'border-warning/30 bg-warning-soft',
        tone === 'danger' && 'border-danger/30 bg-danger-soft',
      )}
    >
      <p className={cn('flex items-center gap-2 font-semibold', tone === 'success' && 'text-success', tone === 'warning' && 'text-warning', tone === 'danger' && 'text-danger')}>
        {icon}
        {title}
      </p>
      {children}
    </div>
  );
}

/** The check's own script and output, for the curious and for instructors. */
function Details({ result, command }: { result: CheckResult; command: string }) {
  const output = [result.stdout, result.stderr].filter((text) => text.trim()).join('\n').trimEnd();
  return (
    <details className="text-xs text-muted-foreground">
      <summary className="cursor-pointer rounded select-none hover:text-foreground">How this check works</summary>
      <pre className="mt-2 overflow-x-auto rounded border bg-code p-2.5 font-mono text-code-foreground">{command}</pre>
      <p className="mt-1.5">
        Exit code {result.exitCode ?? 'none'} after {Math.round(result.durationMs)} ms
        {result.truncated ? ' (output cut short)' : ''}.
      </p>
      {output ? <pre className="mt-1.5 overflow-x-auto rounded border bg-code p-2.5 font-mono text-code-foreground">{output}</pre> : null}
    </details>
  );
}
