'use client';

import { useRef, useState, type CSSProperties, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { setPreference, SPLIT } from '../preferences/preferences-store';
import { usePreferences } from '../preferences/use-preferences';

interface SplitLayoutProps {
  start: ReactNode;
  end: ReactNode;
  startLabel: string;
  endLabel: string;
}

const KEY_STEP = 2;

/**
 * Two panes side by side on wide screens, with a divider that can be dragged or moved with the
 * arrow keys (a WAI-ARIA window splitter). On narrow screens the second pane stacks below the
 * first, and both stay on screen.
 */
export function SplitLayout({ start, end, startLabel, endLabel }: SplitLayoutProps) {
  const { splitPercent } = usePreferences();
  const [dragPercent, setDragPercent] = useState<number | null>(null);
  const containerRef = useRef<HTMLDivElement>(null);
  const percent = dragPercent ?? splitPercent;

  const percentAt = (clientX: number) => {
    const box = containerRef.current!.getBoundingClientRect();
    return clamp(((clientX - box.left) / box.width) * 100);
  };

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0) return;
    event.preventDefault();
    event.currentTarget.setPointerCapture(event.pointerId);
    setDragPercent(percentAt(event.clientX));
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    if (dragPercent !== null) setDragPercent(percentAt(event.clientX));
  };
  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    if (dragPercent === null) return;
    event.currentTarget.releasePointerCapture(event.pointerId);
    setPreference('splitPercent', percentAt(event.clientX));
    setDragPercent(null);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const moves: Record<string, number> = {
      ArrowLeft: splitPercent - KEY_STEP,
      ArrowRight: splitPercent + KEY_STEP,
      Home: SPLIT.min,
      End: SPLIT.max,
      Enter: SPLIT.default,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    setPreference('splitPercent', clamp(moves[event.key]));
  };

  return (
    <div
      ref={containerRef}
      className="flex h-[calc(100dvh-3.5rem)] min-h-0 flex-col lg:grid lg:grid-cols-[minmax(0,var(--split))_auto_minmax(0,1fr)]"
      style={{ '--split': `${percent}%` } as CSSProperties}
      data-dragging={dragPercent !== null || undefined}
    >
      <section aria-label={startLabel} className="min-h-0 flex-1 overflow-y-auto overscroll-contain lg:flex-none">
        {start}
      </section>
      <div
        role="separator"
        aria-orientation="vertical"
        aria-label={`Resize: ${startLabel} and ${endLabel}`}
        aria-valuemin={SPLIT.min}
        aria-valuemax={SPLIT.max}
        aria-valuenow={Math.round(percent)}
        aria-valuetext={`${startLabel} ${Math.round(percent)} percent of the width`}
        tabIndex={0}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onKeyDown={onKeyDown}
        onDoubleClick={() => setPreference('splitPercent', SPLIT.default)}
        title="Drag to resize (double-click to reset)"
        className="group relative hidden w-2 cursor-col-resize touch-none items-stretch justify-center bg-border/40 outline-none hover:bg-accent/20 focus-visible:bg-accent/25 lg:flex"
      >
        <span aria-hidden className="my-auto h-10 w-1 rounded-full bg-muted-foreground/30 group-hover:bg-accent group-focus-visible:bg-accent" />
      </div>
      <section
        aria-label={endLabel}
        className={`flex h-[52dvh] min-h-0 shrink-0 flex-col border-t lg:h-auto lg:border-t-0 ${dragPercent !== null ? 'pointer-events-none select-none' : ''}`}
      >
        {end}
      </section>
    </div>
  );
}

function clamp(percent: number): number {
  return Math.min(SPLIT.max, Math.max(SPLIT.min, Math.round(percent * 10) / 10));
}
