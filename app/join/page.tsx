import type { Metadata } from 'next';
import { JoinForm } from '@/components/classroom/join-form';

export const metadata: Metadata = { title: 'Join the class · Isolab' };

/** Where a learner enters the class code once (or arrives with it in a link: /join?code=…). */
export default function JoinPage() {
  return (
    <main className="mx-auto flex max-w-xl flex-1 flex-col items-start justify-center gap-4 px-6 py-20">
      <h1 className="text-3xl font-semibold tracking-tight">Join the class</h1>
      <p className="text-muted-foreground">
        This lab is for a class. Enter the class code your instructor gave you to get your own sandbox. You only need to do this once in this browser.
      </p>
      <JoinForm />
    </main>
  );
}
