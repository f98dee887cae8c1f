'use client';

import Link from 'next/link';
import type { ComponentProps, MouseEvent } from 'react';
import { startLessonOnClick, warmLesson } from '../connection/lesson-warmup';

type LessonLinkProps = Omit<ComponentProps<typeof Link>, 'href'> & { slug: string };

/** A click the page's router turns into a navigation in this tab (not a new tab or window, not a download). */
function navigatesHere(event: MouseEvent<HTMLAnchorElement>): boolean {
  return !event.defaultPrevented && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

/**
 * A link to a lesson that gets the lesson ready as the learner reaches for it
 * (components/connection/lesson-warmup.ts): its code on hover or focus, its sandbox on the click.
 */
export function LessonLink({ slug, onPointerEnter, onFocus, onClick, ...props }: LessonLinkProps) {
  return (
    <Link
      {...props}
      href={`/lessons/${slug}`}
      onPointerEnter={(event) => {
        void warmLesson().catch(() => undefined);
        onPointerEnter?.(event);
      }}
      onFocus={(event) => {
        void warmLesson().catch(() => undefined);
        onFocus?.(event);
      }}
      onClick={(event) => {
        onClick?.(event);
        if (navigatesHere(event)) startLessonOnClick(slug);
      }}
    />
  );
}
