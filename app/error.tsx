'use client';

import { Button } from '@/components/ui/button';

/** Shown when rendering a page fails in the browser; the terminal has its own error states. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="mx-auto flex max-w-xl flex-1 flex-col items-start justify-center gap-4 px-6 py-20" data-testid="error-page">
      <h1 className="text-3xl font-semibold tracking-tight">Something went wrong</h1>
      <p className="text-muted-foreground">
        This page hit an error{error.digest ? ` (reference ${error.digest})` : ''}. Your progress is saved in this browser; trying again usually helps.
      </p>
      <Button variant="primary" onClick={reset}>
        Try again
      </Button>
    </main>
  );
}
