'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useActiveSlot, useConnectionStatus, WorkspaceContext, type Workspace } from '../lesson/workspace-context';
import { InlineTitle } from '../lesson/inline-title';
import { ThemeToggle } from '../site/theme-toggle';
import { ConnectionOverlay } from '../terminal/connection-overlay';
import { StatusBadge } from '../terminal/status-badge';
import { TerminalView } from '../terminal/terminal-view';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { ArrowLeftIcon, ArrowRightIcon, MinusIcon, PlayIcon, PlusIcon, XIcon } from '../ui/icons';
import { BroadcastToggle } from './broadcast-toggle';
import { applyBeat, goToSlide, markRun, nextBeat, nextBlock, previousSlide, START, type DeckPosition } from './demo-deck';
import { DemoDeckContext, type DemoDeck } from './demo-deck-context';
import type { DemoSlideInfo } from './demo-slide-content';
import { useClassSnapshot, useInstructor } from './instructor-gate';
import { DEMO_SANDBOX_KEY, useDemoConnection } from './use-demo-connection';

export interface DemoModeProps {
  lesson: { slug: string; title: string; order: number; terminals: 1 | 2 };
  slides: DemoSlideInfo[];
  /** Each slide's content, rendered on the server, in the same order. */
  contents: ReactNode[];
}

const FONT = { min: 14, max: 36, default: 22 } as const;

/**
 * Demo mode, for a projector: the lesson's steps as slides beside a big terminal (the
 * instructor's own sandbox). → runs the slide's next command, or moves on once all have run;
 * ← goes back a slide. The keys work whenever the terminal does not have the focus.
 */
export function DemoMode({ lesson, slides, contents }: DemoModeProps) {
  const demo = useDemoConnection();
  const status = useConnectionStatus(demo);
  const activeSlot = useActiveSlot(demo);
  const [position, setPosition] = useDeckPosition(lesson.slug, slides.length);
  const [fontSize, setFontSize] = useState<number>(FONT.default);
  const [note, setNote] = useState<string>();
  const [terminalFocused, setTerminalFocused] = useState(false);
  const slideRef = useRef<HTMLElement>(null);
  const deckSlides = useMemo(() => slides.map((slide) => ({ blocks: slide.runnable.length })), [slides]);
  const live = status.state === 'live';
  const slide = slides[position.slide];
  const upcoming = nextBeat(deckSlides, position);

  useBroadcastFollowsActiveTerminal(demo, activeSlot);

  const run = useCallback(
    (slideIndex: number, block: number): boolean => {
      const target = slides[slideIndex]?.runnable[block];
      if (!target || !demo) return false;
      const slot = lesson.terminals === 2 ? target.terminal - 1 : 0;
      if (!demo.run(target.code, slot)) {
        setNote('The terminal is not live yet; wait until it says “Live”.');
        return false;
      }
      setNote(undefined);
      setPosition((current) => markRun(current, slideIndex, block));
      return true;
    },
    [demo, slides, lesson.terminals, setPosition],
  );

  const forward = useCallback(() => {
    const beat = nextBeat(deckSlides, position);
    if (beat.kind === 'run') run(beat.slide, beat.block);
    else setPosition(applyBeat(position, beat));
  }, [deckSlides, position, run, setPosition]);
  const back = useCallback(() => setPosition(previousSlide(position)), [position, setPosition]);
  const jump = useCallback((index: number) => setPosition(goToSlide(deckSlides, position, index)), [deckSlides, position, setPosition]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      // Typing in the terminal (or a form field) is typing, not presenting.
      if ((event.target as HTMLElement | null)?.closest?.('.xterm, input, textarea, select, [contenteditable="true"]')) return;
      const actions: Record<string, () => void> = {
        ArrowRight: event.shiftKey ? () => jump(position.slide + 1) : forward,
        ArrowLeft: back,
        PageDown: () => jump(position.slide + 1),
        PageUp: back,
        Home: () => jump(0),
        End: () => jump(slides.length - 1),
      };
      const action = actions[event.key];
      if (!action) return;
      event.preventDefault();
      action();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [forward, back, jump, position.slide, slides.length]);

  // A new slide starts at its top, with the command → runs next in view. (Braces: scrollTo returns a promise in newer browsers, and an
  // effect must not return anything but a cleanup.)
  useEffect(() => {
    slideRef.current?.scrollTo({ top: 0 });
    slideRef.current?.querySelector('[data-state="next"]')?.scrollIntoView({ block: 'nearest' });
  }, [position.slide]);

  const deck = useMemo<DemoDeck>(
    () => ({ position, nextBlock: nextBlock(deckSlides, position), runBlock: (s, b) => void run(s, b), live }),
    [position, deckSlides, run, live],
  );
  const workspace = useMemo<Workspace>(() => ({ slug: DEMO_SANDBOX_KEY, terminals: lesson.terminals, connection: demo }), [demo, lesson.terminals]);
  const slots = lesson.terminals === 2 ? [0, 1] : [0];
  const upcomingCommand = upcoming.kind === 'run' ? slides[upcoming.slide].runnable[upcoming.block].code.split('\n')[0] : undefined;

  return (
    // Over the site header: a projector gets the whole screen.
    <div className="fixed inset-0 z-40 flex flex-col bg-background text-foreground" data-testid="demo-mode" data-slide={position.slide}>
      <header className="flex flex-wrap items-center gap-x-4 gap-y-2 border-b bg-card px-5 py-2.5">
        <Link href="/instructor" className="inline-flex items-center gap-1.5 rounded-md px-2 py-1 text-sm font-medium text-muted-foreground hover:bg-muted hover:text-foreground">
          <XIcon className="size-4" />
          Leave demo
        </Link>
        <p className="min-w-0 truncate text-lg font-semibold tracking-tight">
          <span className="mr-2 font-mono text-muted-foreground">{String(lesson.order).padStart(2, '0')}</span>
          <InlineTitle text={lesson.title} />
        </p>
        <div className="ml-auto flex flex-wrap items-center gap-3">
          <BroadcastToggle connection={demo} slot={activeSlot} />
          <div role="group" aria-label="Terminal text size" className="flex items-center">
            <Button size="icon" variant="ghost" aria-label="Smaller terminal text" disabled={fontSize <= FONT.min} onClick={() => setFontSize((size) => size - 2)}>
              <MinusIcon />
            </Button>
            <span className="w-8 text-center font-mono text-sm tabular-nums" aria-live="polite">
              <span className="sr-only">Terminal text size </span>
              {fontSize}
            </span>
            <Button size="icon" variant="ghost" aria-label="Larger terminal text" disabled={fontSize >= FONT.max} onClick={() => setFontSize((size) => size + 2)}>
              <PlusIcon />
            </Button>
          </div>
          <ThemeToggle />
        </div>
      </header>

      <DemoDeckContext value={deck}>
        <div className="grid min-h-0 flex-1 grid-cols-1 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
          <section
            ref={slideRef}
            tabIndex={-1}
            aria-roledescription="slide"
            aria-label={`Slide ${position.slide + 1} of ${slides.length}: ${slide.title}`}
            className="demo-slide min-h-0 overflow-y-auto border-r px-8 py-7 text-[1.3rem] leading-relaxed outline-none xl:px-12 xl:py-10"
            onMouseDown={(event) => {
              // Clicking the slide takes the keys back from the terminal.
              if (!(event.target as HTMLElement).closest('button, a')) slideRef.current?.focus({ preventScroll: true });
            }}
            data-testid="demo-slide"
          >
            {slide.kind !== 'title' ? (
              <header className="mb-6">
                <p className="text-base font-semibold tracking-wide text-accent uppercase">
                  {slide.kind === 'intro' ? `Lesson ${lesson.order}` : `Step ${slides.filter((s, i) => s.kind === 'step' && i <= position.slide).length} of ${slides.filter((s) => s.kind === 'step').length}`}
                </p>
                <h1 className="mt-1.5 text-[1.9em] leading-tight font-bold tracking-tight text-balance">
                  <InlineTitle text={slide.title} />
                </h1>
              </header>
            ) : null}
            {contents[position.slide]}
          </section>

          <WorkspaceContext value={workspace}>
            <section aria-label="Demo terminal" className="relative flex min-h-0 flex-col gap-3 bg-muted/40 p-4">
              <div className="flex items-center gap-3">
                <StatusBadge state={status.state} />
                {status.sandbox ? <span className="font-mono text-sm text-muted-foreground">{status.sandbox.hostname}</span> : null}
              </div>
              <div className="flex min-h-0 flex-1 flex-col gap-3" onFocus={() => setTerminalFocused(true)} onBlur={() => setTerminalFocused(false)}>
                {slots.map((slot) => (
                  <div key={slot} className="flex min-h-0 flex-1 flex-col gap-1">
                    {slots.length > 1 ? (
                      <span className={cn('px-1 text-sm font-semibold', activeSlot === slot ? 'text-accent' : 'text-muted-foreground')}>Terminal {slot + 1}</span>
                    ) : null}
                    <TerminalView connection={demo} slot={slot} label={`Demo terminal ${slot + 1}`} visible connectionLive={live} fontSize={fontSize} className="border-2" />
                  </div>
                ))}
              </div>
              <ConnectionOverlay connection={demo} status={status} />
            </section>
          </WorkspaceContext>
        </div>
      </DemoDeckContext>

      <footer className="flex flex-wrap items-center gap-x-4 gap-y-2 border-t bg-card px-5 py-3">
        <Button size="lg" onClick={back} disabled={position.slide === 0} aria-label="Previous slide">
          <ArrowLeftIcon />
          Back
        </Button>
        <Button size="lg" variant="primary" onClick={forward} disabled={upcoming.kind === 'end'} data-testid="demo-next" className="min-w-0 max-w-[32rem]">
          {upcoming.kind === 'run' ? <PlayIcon /> : <ArrowRightIcon />}
          <span className="truncate">{upcoming.kind === 'run' ? <>Run <code className="font-mono">{upcomingCommand}</code></> : upcoming.kind === 'slide' ? 'Next slide' : 'End of lesson'}</span>
        </Button>
        <nav aria-label="Slides" className="flex flex-wrap items-center gap-1.5">
          {slides.map((candidate, index) => (
            <button
              key={candidate.id}
              type="button"
              onClick={() => jump(index)}
              aria-label={`Slide ${index + 1}: ${candidate.title.replace(/`/g, '')}`}
              aria-current={index === position.slide ? 'step' : undefined}
              className={cn('h-2.5 rounded-full transition-all', index === position.slide ? 'w-8 bg-accent' : 'w-2.5 bg-foreground/25 hover:bg-foreground/50')}
            />
          ))}
        </nav>
        <p className="ml-auto text-sm text-muted-foreground" aria-live="polite">
          {note ? (
            <span className="font-medium text-warning">{note}</span>
          ) : terminalFocused ? (
            'Typing goes to the terminal. Click the slide to use the arrow keys again.'
          ) : (
            <>
              <Kbd>→</Kbd> run next command, then next slide · <Kbd>←</Kbd> previous slide · <Kbd>PgDn</Kbd> skip to next slide
            </>
          )}
        </p>
      </footer>
    </div>
  );
}

function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="rounded border bg-muted px-1.5 py-0.5 font-mono text-xs text-foreground">{children}</kbd>;
}

/** The slide and what ran, kept for this tab so that a reload does not lose the place. */
function useDeckPosition(slug: string, slideCount: number): [DeckPosition, (next: DeckPosition | ((current: DeckPosition) => DeckPosition)) => void] {
  const key = `isolab.demo.${slug}`;
  const [position, setPosition] = useState<DeckPosition>(START);
  useEffect(() => {
    try {
      const stored = JSON.parse(window.sessionStorage.getItem(key) ?? 'null') as DeckPosition | null;
      if (stored && Number.isInteger(stored.slide) && stored.slide < slideCount && Array.isArray(stored.ran)) setPosition(stored);
    } catch {
      // A broken entry: start from the title.
    }
  }, [key, slideCount]);
  const update = useCallback(
    (next: DeckPosition | ((current: DeckPosition) => DeckPosition)) =>
      setPosition((current) => {
        const value = typeof next === 'function' ? next(current) : next;
        try {
          window.sessionStorage.setItem(key, JSON.stringify(value));
        } catch {
          // Not kept across a reload; the demo itself carries on.
        }
        return value;
      }),
    [key],
  );
  return [position, update];
}

/** While broadcasting, the broadcast follows the terminal the presenter is using (two-terminal lessons). */
function useBroadcastFollowsActiveTerminal(demo: ReturnType<typeof useDemoConnection>, activeSlot: number): void {
  const { connection } = useInstructor();
  const broadcastId = useClassSnapshot(connection).classState?.broadcast?.terminalId;
  const status = useConnectionStatus(demo);
  useEffect(() => {
    if (!demo || !broadcastId || status.state !== 'live') return;
    const ours = [demo.terminalIdOf(0), demo.terminalIdOf(1)];
    const wanted = demo.terminalIdOf(activeSlot);
    if (wanted && wanted !== broadcastId && ours.includes(broadcastId)) {
      void demo.labClient?.request('class:broadcast', { terminalId: wanted }).catch(() => undefined);
    }
  }, [demo, activeSlot, broadcastId, status.state]);
}
