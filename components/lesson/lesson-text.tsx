import Link from 'next/link';
import type { Lesson, LessonBlock } from '../../lib/lessons/parse-lesson';
import { ArrowLeftIcon, ArrowRightIcon, ClockIcon } from '../ui/icons';
import { CodeBlock } from './code-block';
import { InlineTitle } from './inline-title';
import { LessonMarkdown } from './lesson-markdown';
import { LessonProgressSummary } from './lesson-progress';
import { StepCheck } from './step-check';
import { MarkStepDone, StepMarker } from './step-status';

interface Neighbour {
  slug: string;
  title: string;
  order: number;
}

/** The lesson's text column: rendered on the server, with client leaves for Run, Check and progress. */
export function LessonText({ lesson, previous, next }: { lesson: Lesson; previous?: Neighbour; next?: Neighbour }) {
  const outline = { slug: lesson.slug, steps: lesson.steps.map((step) => ({ id: step.id })) };
  return (
    <article className="mx-auto max-w-3xl px-5 pt-8 pb-24 sm:px-8">
      <header className="space-y-4">
        <p className="flex items-center gap-3 text-sm text-muted-foreground">
          <Link href="/" className="rounded hover:text-foreground">
            Course
          </Link>
          <span aria-hidden>/</span>
          <span>Lesson {lesson.order}</span>
          <span aria-hidden>·</span>
          <span className="inline-flex items-center gap-1">
            <ClockIcon className="size-3.5" />
            {lesson.duration} min
          </span>
        </p>
        <h1 className="text-3xl leading-tight font-semibold tracking-tight text-balance sm:text-[2.1rem]">
          <InlineTitle text={lesson.title} />
        </h1>
        <p className="text-lg leading-relaxed text-pretty text-muted-foreground">{lesson.summary}</p>
        <LessonProgressSummary outline={outline} />
      </header>

      <section aria-labelledby="objectives-title" className="mt-7 rounded-xl border bg-card p-5">
        <h2 id="objectives-title" className="text-sm font-semibold tracking-wide text-muted-foreground uppercase">
          You will be able to
        </h2>
        <ul className="mt-3 space-y-2">
          {lesson.objectives.map((objective) => (
            <li key={objective} className="flex gap-2.5 text-[0.95rem] leading-snug">
              <span aria-hidden className="mt-2 size-1.5 shrink-0 rounded-full bg-accent" />
              <span>
                <InlineTitle text={objective} />
              </span>
            </li>
          ))}
        </ul>
      </section>

      {lesson.intro.length > 0 ? (
        <div className="mt-8">
          <Blocks blocks={lesson.intro} lesson={lesson} />
        </div>
      ) : null}

      <ol className="mt-10 space-y-12">
        {lesson.steps.map((step, index) => (
          <li key={step.id}>
            <section id={step.id} aria-labelledby={`${step.id}-title`} className="scroll-mt-6">
              <h2 id={`${step.id}-title`} className="flex items-center gap-3 text-xl font-semibold tracking-tight">
                <StepMarker stepId={step.id} number={index + 1} />
                <span>
                  <InlineTitle text={step.title} />
                </span>
              </h2>
              <div className="mt-4 border-l-2 border-border pl-5 sm:ml-3.5 sm:pl-7">
                <Blocks blocks={step.blocks} lesson={lesson} />
                <div className="mt-6">
                  {step.check ? (
                    <StepCheck stepId={step.id} command={step.check.command} hint={step.check.hint} timeoutMs={step.check.timeoutMs} />
                  ) : (
                    <MarkStepDone stepId={step.id} />
                  )}
                </div>
              </div>
            </section>
          </li>
        ))}
      </ol>

      <nav aria-label="Other lessons" className="mt-16 grid gap-3 border-t pt-6 sm:grid-cols-2">
        {previous ? (
          <Link href={`/lessons/${previous.slug}`} className="group rounded-lg border bg-card p-4 transition-colors hover:border-accent/50">
            <span className="flex items-center gap-1.5 text-xs text-muted-foreground">
              <ArrowLeftIcon className="size-3.5" /> Lesson {previous.order}
            </span>
            <span className="mt-1 block font-medium group-hover:text-accent">
              <InlineTitle text={previous.title} />
            </span>
          </Link>
        ) : (
          <span />
        )}
        {next ? (
          <Link href={`/lessons/${next.slug}`} className="group rounded-lg border bg-card p-4 text-right transition-colors hover:border-accent/50">
            <span className="flex items-center justify-end gap-1.5 text-xs text-muted-foreground">
              Lesson {next.order} <ArrowRightIcon className="size-3.5" />
            </span>
            <span className="mt-1 block font-medium group-hover:text-accent">
              <InlineTitle text={next.title} />
            </span>
          </Link>
        ) : null}
      </nav>
    </article>
  );
}

function Blocks({ blocks, lesson }: { blocks: LessonBlock[]; lesson: Lesson }) {
  return (
    <div className="lesson-prose">
      {blocks.map((block, index) =>
        block.type === 'markdown' ? (
          <LessonMarkdown key={index} markdown={block.markdown} />
        ) : (
          <CodeBlock key={index} block={block} lessonTerminals={lesson.terminals} />
        ),
      )}
    </div>
  );
}
