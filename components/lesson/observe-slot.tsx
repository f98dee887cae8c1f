'use client';

import { useId, useState, type ReactNode } from 'react';
import { cn } from '../ui/cn';
import { ChevronDownIcon } from '../ui/icons';

/**
 * The collapsible area under the terminals where observation panels go (cgroup meters, the
 * host's view, the namespace map). The lesson page passes them in as `observe`; panels reach the
 * sandbox through useWorkspace().connection.
 */
export function ObserveSlot({ children, defaultOpen = false, title = 'Observe' }: { children: ReactNode; defaultOpen?: boolean; title?: string }) {
  const [open, setOpen] = useState(defaultOpen);
  const regionId = useId();
  return (
    // Shrinks (and its region scrolls) before the terminals above it do: see terminal-pane.tsx.
    <section aria-label={title} className="flex min-h-0 flex-col border-t bg-card" data-testid="observe-slot">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={regionId}
        onClick={() => setOpen(!open)}
        className="flex w-full items-center gap-2 px-4 py-2 text-left text-sm font-medium hover:bg-muted/60"
      >
        <ChevronDownIcon className={cn('size-4 transition-transform', !open && '-rotate-90')} />
        {title}
      </button>
      <div id={regionId} hidden={!open} className="max-h-[40vh] min-h-0 overflow-y-auto px-4 pb-4">
        {children}
      </div>
    </section>
  );
}
