import type { Metadata } from 'next';
import Link from 'next/link';
import { PrintButton } from '@/components/course/print-button';
import { InlineTitle } from '@/components/lesson/inline-title';
import { loadLessons } from '@/lib/lessons/load-lessons';

export const metadata: Metadata = {
  title: 'Agenda',
  description: 'The Isolab course as a class agenda: lessons, objectives and durations.',
};

/** The course as a class agenda: one block per lesson with its objectives. Prints cleanly. */
export default function AgendaPage() {
  const lessons = loadLessons();
  let start = 0;
  const schedule = lessons.map((lesson) => {
    const entry = { lesson, start, end: start + lesson.duration };
    start = entry.end;
    return entry;
  });
  const total = start;

  return (
    <main className="mx-auto w-full max-w-4xl px-5 py-10 sm:px-8 print:max-w-none print:p-0">
      <header className="flex flex-wrap items-end justify-between gap-4 border-b pb-6">
        <div>
          <p className="text-sm font-medium text-muted-foreground">Isolab · Class agenda</p>
          <h1 className="mt-1 text-3xl font-semibold tracking-tight">Linux containers, from the kernel up</h1>
          <p className="mt-2 text-muted-foreground">
            {lessons.length} lessons · {formatMinutes(total)} of hands-on work, not counting breaks
          </p>
        </div>
        <PrintButton />
      </header>

      <ol className="mt-6 divide-y">
        {schedule.map(({ lesson, start: from, end }) => (
          <li key={lesson.slug} className="grid gap-x-6 gap-y-2 py-6 sm:grid-cols-[7.5rem_1fr]" data-print="keep" data-testid="agenda-lesson">
            <div className="text-sm text-muted-foreground tabular-nums">
              <p className="font-mono font-semibold text-foreground">Lesson {lesson.order}</p>
              <p>{lesson.duration} min</p>
              <p className="text-xs">
                {formatClock(from)}–{formatClock(end)}
              </p>
            </div>
            <div>
              <h2 className="text-lg font-semibold tracking-tight">
                <Link href={`/lessons/${lesson.slug}`} className="hover:text-accent">
                  <InlineTitle text={lesson.title} />
                </Link>
              </h2>
              <p className="mt-1 text-muted-foreground">{lesson.summary}</p>
              <h3 className="mt-3 text-xs font-semibold tracking-wide text-muted-foreground uppercase">Objectives</h3>
              <ul className="mt-1.5 list-disc space-y-1 pl-5 marker:text-muted-foreground">
                {lesson.objectives.map((objective) => (
                  <li key={objective}>
                    <InlineTitle text={objective} />
                  </li>
                ))}
              </ul>
            </div>
          </li>
        ))}
      </ol>

      <footer className="mt-4 border-t pt-4 text-sm text-muted-foreground" data-testid="agenda-total">
        Total: {formatMinutes(total)}. Times count from the start of the course; each lesson runs in the learner&rsquo;s own sandbox in the browser.
      </footer>
    </main>
  );
}

function formatMinutes(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Minutes from the start as h:mm, e.g. 0:00, 1:25. */
function formatClock(minutes: number): string {
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}`;
}
