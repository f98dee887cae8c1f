import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { HEAD_START_SCRIPT } from '@/components/connection/head-start';
import { LessonText } from '@/components/lesson/lesson-text';
import { LessonWorkspace } from '@/components/lesson/lesson-workspace';
import { LessonObserve } from '@/components/observe/lesson-observe';
import { loadLessons } from '@/lib/lessons/load-lessons';

type LessonPageProps = { params: Promise<{ slug: string }> };

// Every lesson is rendered at build time; a slug that is not a lesson is a 404.
export const dynamicParams = false;

/** Loading every lesson here also makes a broken lesson file fail `next build`, naming the file. */
export function generateStaticParams() {
  return loadLessons().map((lesson) => ({ slug: lesson.slug }));
}

export async function generateMetadata({ params }: LessonPageProps): Promise<Metadata> {
  const { slug } = await params;
  const lesson = loadLessons().find((candidate) => candidate.slug === slug);
  return lesson ? { title: lesson.title, description: lesson.summary } : {};
}

export default async function LessonPage({ params }: LessonPageProps) {
  const { slug } = await params;
  const lessons = loadLessons();
  const index = lessons.findIndex((lesson) => lesson.slug === slug);
  if (index === -1) notFound();
  const lesson = lessons[index];
  const neighbour = (i: number) => (lessons[i] ? { slug: lessons[i].slug, title: lessons[i].title, order: lessons[i].order } : undefined);

  return (
    <>
      {/* Opens the socket and asks for the sandbox before Next's scripts have run (head-start.ts). React puts it in <head>;
          high priority, so it is not queued behind Next's chunks for the browser's few connections to the server. */}
      <script async src={HEAD_START_SCRIPT} fetchPriority="high" />
      <LessonWorkspace
        slug={lesson.slug}
        terminals={lesson.terminals}
        stepIds={lesson.steps.map((step) => step.id)}
        text={<LessonText lesson={lesson} previous={neighbour(index - 1)} next={neighbour(index + 1)} />}
        observe={<LessonObserve panel={lesson.panel} />}
        observeOpen={lesson.panel !== undefined}
      />
    </>
  );
}
