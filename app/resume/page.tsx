import type { Metadata } from 'next';
import { ResumeForm } from '@/components/progress/resume-form';

export const metadata: Metadata = { title: 'Continue where you left off · Isolab' };

/** Where a learner continues in another browser with their resume code (or its link: /resume?code=…). */
export default function ResumePage() {
  return (
    <main className="mx-auto flex max-w-xl flex-1 flex-col items-start justify-center gap-4 px-6 py-20">
      <h1 className="text-3xl font-semibold tracking-tight">Continue where you left off</h1>
      <p className="text-muted-foreground">
        Enter the resume code from the lesson page of your other browser (Continue elsewhere). Your name and the steps you passed come with it.
      </p>
      <ResumeForm />
    </main>
  );
}
