'use client';

import { usePathname } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { cn } from '../ui/cn';
import { PencilIcon } from '../ui/icons';
import { shownName } from './display-name-store';
import { DisplayNameForm } from './display-name-form';
import { useDisplayName } from './use-display-name';

/**
 * "You: swift-otter" in the header, for learners: the name the instructor sees, and the way
 * to change it. Hidden on the instructor's own pages and until a name is known.
 */
export function DisplayNameChip() {
  const names = useDisplayName();
  const pathname = usePathname();
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const name = shownName(names);

  useEffect(() => {
    if (!open) return;
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !rootRef.current?.contains(event.target as Node)) {
        setOpen(false);
        if (event instanceof KeyboardEvent) buttonRef.current?.focus();
      }
    };
    document.addEventListener('keydown', close);
    document.addEventListener('pointerdown', close);
    return () => {
      document.removeEventListener('keydown', close);
      document.removeEventListener('pointerdown', close);
    };
  }, [open]);

  if (!name || pathname?.startsWith('/instructor')) return null;

  return (
    <div ref={rootRef} className="relative">
      <button
        ref={buttonRef}
        type="button"
        aria-expanded={open}
        aria-controls="display-name-popover"
        onClick={() => setOpen((value) => !value)}
        title="The name your instructor sees; click to change it"
        className={cn(
          'inline-flex h-8 max-w-48 items-center gap-1.5 rounded-md px-2.5 text-sm text-muted-foreground transition-colors hover:bg-muted hover:text-foreground',
          open && 'bg-muted text-foreground',
        )}
        data-testid="display-name-chip"
      >
        <span className="hidden sm:inline">You:</span>
        <span className="truncate font-medium text-foreground">{name}</span>
        <PencilIcon className="size-3.5 shrink-0" />
      </button>
      {open ? (
        <div id="display-name-popover" role="dialog" aria-label="Your name in class" className="absolute top-full right-0 z-40 mt-2 w-80 rounded-xl border bg-card p-4 shadow-lg">
          <p className="text-sm font-semibold">Your name in class</p>
          <p className="mt-0.5 mb-3 text-xs text-muted-foreground">Your instructor sees it beside your progress.</p>
          <DisplayNameForm current={names.chosen} placeholder={names.generated} autoFocus onSaved={() => setOpen(false)} onCancel={() => setOpen(false)} />
        </div>
      ) : null}
    </div>
  );
}
