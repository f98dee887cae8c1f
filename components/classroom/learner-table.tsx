'use client';

import type { LearnerSummary } from '../../protocol';
import { formatBytes, percentOf } from '../observe/format';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { BroadcastIcon, EyeIcon, RotateCcwIcon, UsersIcon } from '../ui/icons';
import type { ClassConnection } from './class-connection';
import { ConfirmButton } from '../ui/confirm-button';
import type { OutlineLesson } from './course-outline';
import { formatAgo } from './format-time';
import { useNow } from './use-now';

/** A connected learner with no keystroke, check or page change for this long gets a warning colour. */
const QUIET_AFTER_MS = 5 * 60_000;

export interface LearnerTableProps {
  learners: LearnerSummary[];
  lessons: OutlineLesson[];
  connection: ClassConnection;
  /** The learner being viewed, if any. */
  spotlightId?: string;
}

/** Every learner, live: where they are, how far they got, their sandbox, and the actions on them. */
export function LearnerTable({ learners, lessons, connection, spotlightId }: LearnerTableProps) {
  const now = useNow();
  if (learners.length === 0) return <NoLearners />;
  const online = [...learners].sort((a, b) => Number(b.connected) - Number(a.connected));

  return (
    <div className="overflow-x-auto">
      <table className="w-full min-w-[44rem] border-separate border-spacing-0 text-sm" data-testid="learner-table">
        <thead>
          <tr className="text-left text-xs font-semibold tracking-wide text-muted-foreground uppercase">
            <th scope="col" className="border-b py-2.5 pr-2 pl-4">Learner</th>
            <th scope="col" className="border-b px-3 py-2.5">Where</th>
            <th scope="col" className="border-b px-3 py-2.5">Passed</th>
            <th scope="col" className="border-b px-3 py-2.5">Sandbox</th>
            <th scope="col" className="border-b px-3 py-2.5 text-right">Active</th>
            <th scope="col" className="border-b px-4 py-2.5 text-right">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {online.map((learner) => (
            <LearnerRow
              key={learner.sessionId}
              learner={learner}
              lesson={lessons.find((lesson) => lesson.slug === learner.lessonSlug)}
              now={now}
              connection={connection}
              viewing={spotlightId === learner.sessionId}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function LearnerRow({
  learner,
  lesson,
  now,
  connection,
  viewing,
}: {
  learner: LearnerSummary;
  lesson: OutlineLesson | undefined;
  now: number;
  connection: ClassConnection;
  viewing: boolean;
}) {
  const idleMs = now - learner.lastActivityAt;
  const quiet = learner.connected && idleMs > QUIET_AFTER_MS;
  const stepIndex = lesson && learner.stepId ? lesson.steps.findIndex((step) => step.id === learner.stepId) : -1;
  const total = lesson?.steps.length ?? 0;
  // Only a step with a check can be passed: lab-server has nothing to verify for the others.
  const passable = lesson?.steps.filter((step) => step.checked ?? true) ?? [];
  const passed = lesson ? (learner.passed[lesson.slug] ?? []).filter((id) => passable.some((step) => step.id === id)).length : 0;
  const allPassed = passable.length > 0 && passed === passable.length;
  const otherLessons = Object.entries(learner.passed).filter(([slug, steps]) => slug !== lesson?.slug && steps.length > 0).length;
  const cell = 'border-b px-2.5 py-3 align-middle';

  return (
    <tr className={cn('transition-colors hover:bg-muted/50', !learner.connected && 'text-muted-foreground', viewing && 'bg-accent-soft/60')} data-testid="learner-row" data-name={learner.displayName}>
      <th scope="row" className="border-b py-3 pr-2 pl-4 text-left align-middle font-normal">
        <span className="flex items-center gap-2.5">
          <span
            aria-hidden
            className={cn('size-2.5 shrink-0 rounded-full', learner.connected ? 'bg-success shadow-[0_0_0_3px] shadow-success/20' : 'bg-muted-foreground/40')}
          />
          <span className="min-w-0">
            <span className={cn('block max-w-40 truncate font-semibold', learner.connected ? 'text-foreground' : 'text-muted-foreground')}>{learner.displayName}</span>
            <span className="flex items-center gap-2 text-xs text-muted-foreground">
              {learner.connected ? 'online' : 'left'}
              {/* Several lab nodes: which machine holds the learner's sandboxes. */}
              {learner.node ? (
                <span data-testid="learner-node" title="The lab node this learner's sandboxes run on">
                  on {learner.node}
                </span>
              ) : null}
              {learner.following ? (
                <span className="inline-flex items-center gap-1 text-accent" title="Following your broadcast">
                  <BroadcastIcon className="size-3" /> following
                </span>
              ) : null}
              {learner.spotlighted ? (
                <span className="inline-flex items-center gap-1 text-warning">
                  <EyeIcon className="size-3" /> viewed
                </span>
              ) : null}
              {learner.oldCode ? (
                <span className="text-danger" title="Joined before the current class code was set">
                  old code
                </span>
              ) : null}
            </span>
          </span>
        </span>
      </th>
      <td className={cell}>
        {lesson ? (
          <span className="block max-w-56">
            <span className="block truncate font-medium text-foreground" title={lesson.title}>
              {lesson.order}. {lesson.title.replace(/`/g, '')}
            </span>
            <span className="block truncate text-xs text-muted-foreground" data-testid="learner-step">
              {stepIndex >= 0 ? `Step ${stepIndex + 1} of ${total}: ${lesson.steps[stepIndex].title.replace(/`/g, '')}` : allPassed ? 'All checks passed' : 'Reading'}
            </span>
          </span>
        ) : (
          <span className="text-muted-foreground">On the course map</span>
        )}
      </td>
      <td className={cell}>
        {lesson ? (
          <span className="flex items-center gap-2.5" data-testid="learner-passed">
            <Meter value={passed} max={passable.length} tone={allPassed ? 'success' : 'accent'} label={`Checks passed in ${lesson.title}`} className="w-12" />
            <span className="font-medium whitespace-nowrap text-foreground tabular-nums">
              {passed}/{passable.length}
            </span>
            {otherLessons > 0 ? <span className="text-xs whitespace-nowrap text-muted-foreground">+{otherLessons} lesson{otherLessons > 1 ? 's' : ''}</span> : null}
          </span>
        ) : (
          <span className="text-muted-foreground">–</span>
        )}
      </td>
      <td className={cell}>
        <SandboxGlance sandbox={learner.sandbox} />
      </td>
      <td className={cn(cell, 'text-right whitespace-nowrap tabular-nums', quiet && 'font-medium text-warning')} title={quiet ? 'No activity for a while: stuck, or away?' : undefined}>
        {formatAgo(idleMs)}
        {formatAgo(idleMs) === 'now' ? '' : ' ago'}
      </td>
      <td className="border-b py-3 pr-4 pl-2 text-right align-middle">
        <span className="inline-flex items-center justify-end gap-1.5">
          <Button
            size="sm"
            variant={viewing ? 'primary' : 'secondary'}
            aria-pressed={viewing}
            disabled={!learner.sandbox && !viewing}
            onClick={() => (viewing ? connection.endSpotlight() : connection.spotlight(learner.sessionId))}
            aria-label={viewing ? `Stop viewing ${learner.displayName}’s terminal` : `View ${learner.displayName}’s terminal`}
            title={learner.sandbox || viewing ? undefined : 'No running sandbox to view'}
          >
            <EyeIcon />
            {viewing ? 'Viewing' : 'View'}
          </Button>
          <ConfirmButton
            question={<>Reset {learner.displayName}’s sandbox?</>}
            confirmLabel="Reset"
            size="icon"
            className="[&>button]:size-7"
            disabled={!learner.sandbox}
            aria-label={`Reset ${learner.displayName}’s sandbox`}
            title={learner.sandbox ? 'Reset: end their sandbox; they can start a fresh one' : 'No running sandbox'}
            onConfirm={() => connection.request('class:reset-learner', { sessionId: learner.sessionId })}
          >
            <RotateCcwIcon />
          </ConfirmButton>
        </span>
      </td>
    </tr>
  );
}

function SandboxGlance({ sandbox }: { sandbox: LearnerSummary['sandbox'] }) {
  if (!sandbox) return <span className="text-muted-foreground">No sandbox</span>;
  const memory = percentOf(sandbox.memoryBytes, sandbox.memoryLimitBytes);
  const pids = percentOf(sandbox.pids, sandbox.pidsMax);
  const memoryText = `${formatBytes(sandbox.memoryBytes)}${sandbox.memoryLimitBytes ? ` of ${formatBytes(sandbox.memoryLimitBytes)}` : ''}`;
  const pidsText = `${sandbox.pids}${sandbox.pidsMax ? ` of ${sandbox.pidsMax}` : ''}`;
  return (
    <span className="grid grid-cols-[2.1rem_auto] items-center gap-x-1.5 gap-y-1 text-xs" data-testid="sandbox-glance">
      <span className="text-muted-foreground">mem</span>
      <span className="flex items-center gap-2" title={`Memory: ${memoryText}`}>
        <Meter value={memory ?? 0} max={100} tone={toneFor(memory)} label={`Memory: ${memoryText}`} className="w-12" />
        {/* The numbers need room; on narrower screens the bar and its tooltip say enough. */}
        <span className="hidden whitespace-nowrap tabular-nums 2xl:inline">{formatBytes(sandbox.memoryBytes)}</span>
      </span>
      <span className="text-muted-foreground">pids</span>
      <span className="flex items-center gap-2" title={`Processes: ${pidsText}`}>
        <Meter value={pids ?? 0} max={100} tone={toneFor(pids)} label={`Processes: ${pidsText}`} className="w-12" />
        <span className="hidden whitespace-nowrap tabular-nums 2xl:inline">
          {sandbox.pids}
          {sandbox.pidsMax ? <span className="text-muted-foreground">/{sandbox.pidsMax}</span> : null}
        </span>
      </span>
    </span>
  );
}

function toneFor(percent: number | undefined): 'accent' | 'warning' | 'danger' {
  if (percent === undefined || percent < 70) return 'accent';
  return percent < 90 ? 'warning' : 'danger';
}

/** A small horizontal bar with the ARIA of a meter. */
export function Meter({ value, max, tone = 'accent', label, className }: { value: number; max: number; tone?: 'accent' | 'success' | 'warning' | 'danger'; label: string; className?: string }) {
  const percent = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <span
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={value}
      className={cn('block h-2 overflow-hidden rounded-full bg-foreground/10', className)}
    >
      <span
        className={cn(
          'block h-full rounded-full transition-[width] duration-500',
          tone === 'accent' && 'bg-accent',
          tone === 'success' && 'bg-success',
          tone === 'warning' && 'bg-warning',
          tone === 'danger' && 'bg-danger',
        )}
        style={{ width: `${percent}%` }}
      />
    </span>
  );
}

function NoLearners() {
  const address = typeof window === 'undefined' ? '' : window.location.origin;
  return (
    <div className="flex flex-col items-center gap-3 px-6 py-12 text-center" data-testid="no-learners">
      <span className="flex size-12 items-center justify-center rounded-2xl bg-accent-soft text-accent-soft-foreground">
        <UsersIcon className="size-6" />
      </span>
      <p className="text-lg font-semibold">No learners yet</p>
      <p className="max-w-md text-muted-foreground">Learners appear here as soon as they open a lesson. Give them the lab’s address:</p>
      {address ? <p className="rounded-lg border bg-muted px-4 py-2 font-mono text-xl font-semibold tracking-tight">{address}</p> : null}
    </div>
  );
}
