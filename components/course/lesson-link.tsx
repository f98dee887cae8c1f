'use client';

import Link from 'next/link';
import { useEffect, type ComponentProps, type MouseEvent, type PointerEvent } from 'react';
import { cancelLessonPress, lessonClicked, lessonPressed, warmLesson, warmLessonWhenIdle } from '../connection/lesson-warmup';

type LessonLinkProps = Omit<ComponentProps<typeof Link>, 'href'> & { slug: string };

/** A click the page's router turns into a navigation in this tab (not a new tab or window, not a download). */
function navigatesHere(event: MouseEvent<HTMLAnchorElement>): boolean {
  return !event.defaultPrevented && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

/** A press that becomes such a click if it is released on the link. */
function mayNavigateHere(event: PointerEvent<HTMLAnchorElement>): boolean {
  return event.isPrimary && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

/**
 * Until the press ends: released elsewhere, cancelled (a touch that became a scroll) or turned
 * into a drag of the link, it never becomes a click, and its connection is closed. Released on
 * the link, the click that follows decides (LessonLink's onClick).
 */
function watchPress(link: HTMLAnchorElement): void {
  const types = ['pointerup', 'pointercancel', 'dragstart'] as const;
  const ended = (event: Event) => {
    for (const type of types) window.removeEventListener(type, ended, true);
    if (event.type !== 'pointerup' || !(event.target instanceof Node) || !link.contains(event.target)) cancelLessonPress();
  };
  for (const type of types) window.addEventListener(type, ended, true);
}

/**
 * A link to a lesson that gets the lesson ready as the learner reaches for it
 * (components/connection/lesson-warmup.ts): its code when the map is idle or on hover and focus,
 * a connection on the press, its sandbox on the click.
 */
export function LessonLink({ slug, onPointerEnter, onPointerDown, onFocus, onClick, ...props }: LessonLinkProps) {
  useEffect(warmLessonWhenIdle, []);
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
      onPointerDown={(event) => {
        onPointerDown?.(event);
        if (!event.defaultPrevented && mayNavigateHere(event)) {
          lessonPressed(slug);
          watchPress(event.currentTarget);
        }
      }}
      onClick={(event) => {
        onClick?.(event);
        if (navigatesHere(event)) lessonClicked(slug);
        else cancelLessonPress();
      }}
    />
  );
}
