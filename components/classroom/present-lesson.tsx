'use client';

import Link from 'next/link';
import { useId, useState } from 'react';
import { buttonVariants } from '../ui/button';
import { PresentationIcon } from '../ui/icons';
import type { OutlineLesson } from './course-outline';

/** Pick a lesson and open it in demo mode (slides beside a big terminal, for the projector). */
export function PresentLesson({ lessons, initial }: { lessons: OutlineLesson[]; initial?: string }) {
  const id = useId();
  const [slug, setSlug] = useState(initial ?? lessons[0]?.slug ?? '');
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className="sr-only">
        Lesson to present
      </label>
      <select
        id={id}
        value={slug}
        onChange={(event) => setSlug(event.target.value)}
        className="h-9 max-w-56 rounded-md border border-input bg-card px-2.5 text-sm shadow-xs"
      >
        {lessons.map((lesson) => (
          <option key={lesson.slug} value={lesson.slug}>
            {lesson.order}. {lesson.title.replace(/`/g, '')}
          </option>
        ))}
      </select>
      <Link href={`/instructor/demo/${slug}`} className={buttonVariants({ variant: 'secondary', size: 'md' })} data-testid="open-demo-mode">
        <PresentationIcon />
        Demo mode
      </Link>
    </div>
  );
}
