import Link from 'next/link';
import { DisplayNamePicker } from '@/components/classroom/display-name-picker';
import { ContinueCard, type CourseLesson } from '@/components/course/continue-card';
import { LessonCardProgress } from '@/components/course/lesson-card-progress';
import { LessonLink } from '@/components/course/lesson-link';
import { InlineTitle } from '@/components/lesson/inline-title';
import { ClockIcon, TerminalIcon } from '@/components/ui/icons';
import { loadLessons } from '@/lib/lessons/load-lessons';

/** The course map: every lesson in agenda order, with this browser's progress. */
export default function CourseMapPage() {
  const lessons = loadLessons();
  const course: CourseLesson[] = lessons.map((lesson) => ({
    slug: lesson.slug,
    title: lesson.title,
    order: lesson.order,
    steps: lesson.steps.map((step) => ({ id: step.id, title: step.title })),
  }));
  const totalMinutes = lessons.reduce((sum, lesson) => sum + lesson.duration, 0);

  return (
    <main className="mx-auto w-full max-w-5xl px-5 py-10 sm:px-8 sm:py-14">
      <section className="max-w-3xl">
        <p className="inline-flex items-center gap-2 rounded-full border bg-card px-3 py-1 text-xs font-medium text-muted-foreground">
          <TerminalIcon className="size-3.5 text-accent" />
          A real Linux sandbox beside every lesson
        </p>
        <h1 className="mt-5 text-4xl leading-[1.1] font-semibold tracking-tight text-balance sm:text-5xl">Linux containers, from the kernel up</h1>
        <p className="mt-4 text-lg leading-relaxed text-pretty text-muted-foreground">
          Containers are ordinary processes that the kernel fences in with namespaces and cgroups. In each lesson you run the commands yourself, in
          a sandbox of your own, and watch the isolation happen.
        </p>
        <p className="mt-3 text-sm text-muted-foreground">
          {lessons.length} lessons · about {formatDuration(totalMinutes)} ·{' '}
          <Link href="/agenda" className="font-medium text-accent underline-offset-2 hover:underline">
            printable agenda
          </Link>
        </p>
      </section>

      <div className="mt-8 max-w-3xl space-y-4">
        <ContinueCard lessons={course} />
        <DisplayNamePicker />
      </div>

      <section aria-labelledby="lessons-title" className="mt-12">
        <h2 id="lessons-title" className="text-sm font-semibold tracking-wide text-muted-foreground uppercase">
          Lessons
        </h2>
        <ol className="mt-4 grid gap-3 md:grid-cols-2">
          {lessons.map((lesson) => (
            <li key={lesson.slug}>
              <LessonLink
                slug={lesson.slug}
                className="group flex h-full gap-4 rounded-xl border bg-card p-5 shadow-xs transition-[border-color,box-shadow] hover:border-accent/50 hover:shadow-md"
                data-testid="lesson-card"
              >
                <span className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-accent-soft font-mono text-sm font-semibold text-accent-soft-foreground tabular-nums">
                  {String(lesson.order).padStart(2, '0')}
                </span>
                <span className="flex min-w-0 flex-1 flex-col gap-1.5">
                  <span className="font-semibold leading-snug tracking-tight group-hover:text-accent">
                    <InlineTitle text={lesson.title} />
                  </span>
                  <span className="text-sm leading-relaxed text-muted-foreground">{lesson.summary}</span>
                  <span className="mt-auto flex flex-wrap items-center justify-between gap-3 pt-2">
                    <span className="inline-flex items-center gap-1 text-xs text-muted-foreground">
                      <ClockIcon className="size-3.5" />
                      {lesson.duration} min
                    </span>
                    <LessonCardProgress outline={{ slug: lesson.slug, steps: lesson.steps.map((step) => ({ id: step.id })) }} title={lesson.title} />
                  </span>
                </span>
              </LessonLink>
            </li>
          ))}
        </ol>
      </section>
    </main>
  );
}

function formatDuration(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
