import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { DemoMode } from '@/components/classroom/demo-mode';
import { demoSlides } from '@/components/classroom/demo-slide-content';
import { InstructorGate } from '@/components/classroom/instructor-gate';
import { loadLessons } from '@/lib/lessons/load-lessons';

type DemoPageProps = { params: Promise<{ slug: string }> };

export const dynamicParams = false;

export function generateStaticParams() {
  return loadLessons().map((lesson) => ({ slug: lesson.slug }));
}

export async function generateMetadata({ params }: DemoPageProps): Promise<Metadata> {
  const { slug } = await params;
  const lesson = loadLessons().find((candidate) => candidate.slug === slug);
  return { title: lesson ? `Demo: ${lesson.title}` : 'Demo mode', robots: { index: false, follow: false } };
}

/** Demo mode for a projector: the lesson's steps as slides beside the instructor's own terminal. */
export default async function DemoPage({ params }: DemoPageProps) {
  const { slug } = await params;
  const lesson = loadLessons().find((candidate) => candidate.slug === slug);
  if (!lesson) notFound();
  const slides = demoSlides(lesson);
  return (
    <InstructorGate>
      <DemoMode
        lesson={{ slug: lesson.slug, title: lesson.title, order: lesson.order, terminals: lesson.terminals }}
        slides={slides.map((slide) => slide.info)}
        contents={slides.map((slide) => slide.content)}
      />
    </InstructorGate>
  );
}
