import type { ReactNode } from 'react';
import type { Lesson, LessonBlock } from '../../lib/lessons/parse-lesson';
import { InlineTitle } from '../lesson/inline-title';
import { LessonMarkdown } from '../lesson/lesson-markdown';
import { DemoCodeBlock } from './demo-code-block';

/** What demo mode needs to know of a slide in the browser; its content is rendered on the server. */
export interface DemoSlideInfo {
  id: string;
  kind: 'title' | 'intro' | 'step';
  title: string;
  runnable: Array<{ code: string; terminal: 1 | 2 }>;
}

/** The lesson as slides: its title, its introduction (when it has one) and one per step. */
export function demoSlides(lesson: Lesson): Array<{ info: DemoSlideInfo; content: ReactNode }> {
  const slides: Array<{ info: DemoSlideInfo; content: ReactNode }> = [
    { info: { id: 'title', kind: 'title', title: lesson.title, runnable: [] }, content: <TitleSlide lesson={lesson} /> },
  ];
  const add = (id: string, kind: 'intro' | 'step', title: string, blocks: LessonBlock[]) => {
    const index = slides.length;
    slides.push({
      info: { id, kind, title, runnable: runnableOf(blocks) },
      content: <SlideBlocks blocks={blocks} slide={index} lessonTerminals={lesson.terminals} />,
    });
  };
  if (lesson.intro.length > 0) add('introduction', 'intro', 'Introduction', lesson.intro);
  for (const step of lesson.steps) add(step.id, 'step', step.title, step.blocks);
  return slides;
}

function runnableOf(blocks: LessonBlock[]): DemoSlideInfo['runnable'] {
  return blocks.flatMap((block) => (block.type === 'code' && block.runnable ? [{ code: block.code, terminal: block.terminal }] : []));
}

function TitleSlide({ lesson }: { lesson: Lesson }) {
  return (
    <div className="flex min-h-full flex-col justify-center gap-8 py-6">
      <div>
        <p className="text-xl font-semibold tracking-wide text-accent uppercase">Lesson {lesson.order}</p>
        <h1 className="mt-3 text-[3.2em] leading-[1.05] font-bold tracking-tight text-balance">
          <InlineTitle text={lesson.title} />
        </h1>
        <p className="mt-5 max-w-[38em] text-[1.3em] leading-snug text-pretty">{lesson.summary}</p>
      </div>
      <div>
        <h2 className="text-lg font-semibold tracking-wide text-muted-foreground uppercase">You will be able to</h2>
        <ul className="mt-3 space-y-2.5 text-[1.15em] leading-snug">
          {lesson.objectives.map((objective) => (
            <li key={objective} className="flex gap-3">
              <span aria-hidden className="mt-[0.55em] size-2 shrink-0 rounded-full bg-accent" />
              <span>
                <InlineTitle text={objective} />
              </span>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function SlideBlocks({ blocks, slide, lessonTerminals }: { blocks: LessonBlock[]; slide: number; lessonTerminals: 1 | 2 }) {
  let runnable = 0;
  return (
    <div className="lesson-prose demo-prose">
      {blocks.map((block, index) => {
        if (block.type === 'markdown') return <LessonMarkdown key={index} markdown={block.markdown} />;
        if (!block.runnable) {
          return (
            <pre key={index} className="font-mono">
              <code>{block.code}</code>
            </pre>
          );
        }
        return <DemoCodeBlock key={index} slide={slide} block={runnable++} code={block.code} terminal={block.terminal} lessonTerminals={lessonTerminals} />;
      })}
    </div>
  );
}
