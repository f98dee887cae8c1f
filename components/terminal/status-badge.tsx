import { cva } from 'class-variance-authority';
import { cn } from '../ui/cn';
import type { ConnectionState } from '../connection/sandbox-connection';

const dot = cva('size-2 rounded-full', {
  variants: {
    state: {
      connecting: 'bg-warning animate-[status-pulse_1.2s_ease-in-out_infinite]',
      live: 'bg-success shadow-[0_0_0_3px] shadow-success/20',
      reconnecting: 'bg-warning animate-[status-pulse_1.2s_ease-in-out_infinite]',
      ended: 'bg-muted-foreground',
      error: 'bg-danger',
    },
  },
});

export const STATE_LABEL: Record<ConnectionState, string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  ended: 'Ended',
  error: 'Error',
};

/** The terminal's state in a word and a colour, announced politely to screen readers. */
export function StatusBadge({ state, className }: { state: ConnectionState; className?: string }) {
  return (
    <span
      role="status"
      aria-live="polite"
      data-testid="terminal-status"
      data-state={state}
      className={cn(
        'inline-flex items-center gap-2 rounded-full border px-2.5 py-1 text-xs font-medium',
        state === 'live' && 'border-success/30 text-success',
        (state === 'connecting' || state === 'reconnecting') && 'border-warning/30 text-warning',
        state === 'error' && 'border-danger/30 text-danger',
        state === 'ended' && 'text-muted-foreground',
        className,
      )}
    >
      <span aria-hidden className={dot({ state })} />
      <span>
        <span className="sr-only">Terminal: </span>
        {STATE_LABEL[state]}
      </span>
    </span>
  );
}
