'use client';

import { useEffect, useRef } from 'react';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { ArrowRightIcon, CheckIcon, PlayIcon } from '../ui/icons';
import { useDemoDeck } from './demo-deck-context';

export interface DemoCodeBlockProps {
  slide: number;
  /** Its place among the slide's runnable blocks. */
  block: number;
  code: string;
  terminal: 1 | 2;
  lessonTerminals: 1 | 2;
}

/** A runnable block on a slide: marked when it is the one → runs next, and when it has run. */
export function DemoCodeBlock({ slide, block, code, terminal, lessonTerminals }: DemoCodeBlockProps) {
  const deck = useDemoDeck();
  const ref = useRef<HTMLElement>(null);
  const done = (deck.position.ran[slide] ?? 0) > block;
  const next = deck.position.slide === slide && deck.nextBlock === block;

  // Keep the command about to run in view on a long slide.
  useEffect(() => {
    if (next) ref.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [next]);

  return (
    <figure
      ref={ref}
      className={cn(
        'not-prose relative overflow-hidden rounded-xl border-2 bg-code transition-[border-color,box-shadow,opacity]',
        next ? 'border-accent shadow-[0_0_0_4px] shadow-accent/20' : 'border-border',
        done && 'opacity-70',
      )}
      data-testid="demo-block"
      data-state={next ? 'next' : done ? 'done' : 'pending'}
    >
      <figcaption className="flex items-center gap-3 border-b bg-muted/60 py-1.5 pr-2 pl-4 text-base">
        {next ? (
          <span className="inline-flex items-center gap-1.5 font-semibold text-accent">
            <ArrowRightIcon className="size-4" /> next
          </span>
        ) : done ? (
          <span className="inline-flex items-center gap-1.5 font-semibold text-success">
            <CheckIcon className="size-4" /> ran
          </span>
        ) : (
          <span className="text-muted-foreground">command</span>
        )}
        {lessonTerminals === 2 ? (
          <span className={cn('rounded px-2 py-0.5 text-sm font-medium', terminal === 2 ? 'bg-warning-soft text-warning' : 'bg-accent-soft text-accent-soft-foreground')}>
            terminal {terminal}
          </span>
        ) : null}
        <Button size="sm" variant="ghost" className="ml-auto" disabled={!deck.live} onClick={() => deck.runBlock(slide, block)} aria-label={`Run: ${code.split('\n')[0]}`}>
          <PlayIcon />
          Run
        </Button>
      </figcaption>
      <pre className="overflow-x-auto px-5 py-3.5 font-mono text-[0.95em] leading-relaxed font-medium text-code-foreground">
        <code>
          {code.split('\n').map((line, index) => (
            <span key={index} className="block">
              <span aria-hidden className="mr-3 text-muted-foreground select-none">
                {line.trim() ? '$' : ' '}
              </span>
              {line}
            </span>
          ))}
        </code>
      </pre>
    </figure>
  );
}
