import type { ObserveEvent, ObserveEventKind } from '../../protocol';
import { cn } from '../ui/cn';
import { formatClock } from './format';

const STYLE: Record<ObserveEventKind, { label: string; className: string }> = {
  'oom-kill': { label: 'OOM kill', className: 'bg-danger-soft text-danger' },
  'fork-refused': { label: 'Fork refused', className: 'bg-danger-soft text-danger' },
  'throttling-started': { label: 'Throttled', className: 'bg-warning-soft text-warning' },
  'throttling-ended': { label: 'Unthrottled', className: 'bg-muted text-muted-foreground' },
};

/** What the kernel did to the sandbox while the panel was open, newest first. */
export function EventTimeline({ events, className }: { events: readonly ObserveEvent[]; className?: string }) {
  return (
    <section aria-label="Events" className={cn('rounded-lg border bg-card p-3', className)}>
      <h4 className="mb-2 text-xs font-semibold tracking-wide text-muted-foreground uppercase">Events</h4>
      {events.length === 0 ? (
        <p className="text-sm text-muted-foreground">Nothing yet. OOM kills, refused forks and CPU throttling appear here as they happen.</p>
      ) : (
        <ol className="flex max-h-48 flex-col gap-1.5 overflow-y-auto text-sm">
          {events.map((event, i) => (
            <li key={`${event.at}-${event.kind}-${i}`} data-event={event.kind} className="flex items-start gap-2">
              <time className="shrink-0 font-mono text-xs text-muted-foreground tabular-nums" dateTime={new Date(event.at).toISOString()}>
                {formatClock(event.at)}
              </time>
              <span className={cn('shrink-0 rounded px-1.5 py-0.5 text-xs font-semibold', STYLE[event.kind].className)}>{STYLE[event.kind].label}</span>
              <span className="min-w-0">{event.message}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
