'use client';

import { useEffect, useState } from 'react';
import { LabClient } from '../../lib/lab-client';
import { displayNameStore } from '../classroom/use-display-name';
import { fetchLabUrl } from '../connection/lab-config';
import { SESSION_TOKEN_KEY } from '../connection/lab-connection';
import { CodeForm } from '../ui/code-form';
import { progressStore } from './use-progress';

/**
 * Redeems a resume code: lab-server answers with a session token of the learner it belongs to,
 * which this browser keeps, so every page from now on is that learner, with their progress.
 */
export function ResumeForm() {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [resumed, setResumed] = useState<{ displayName: string; passes: number }>();

  const resume = async (entered: string) => {
    setBusy(true);
    setError(undefined);
    let client: LabClient | undefined;
    try {
      client = await LabClient.connect(await fetchLabUrl(), { token: window.localStorage.getItem(SESSION_TOKEN_KEY) ?? undefined });
      const result = await client.request('progress:resume', { code: entered.trim() });
      window.localStorage.setItem(SESSION_TOKEN_KEY, result.token);
      progressStore.adoptVerified(result.passes);
      displayNameStore.choose(result.displayName);
      setResumed({ displayName: result.displayName, passes: result.passes.length });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      client?.close();
      setBusy(false);
    }
  };

  // The link from the other browser carries the code (/resume?code=…): nothing to type.
  useEffect(() => {
    const linked = new URLSearchParams(window.location.search).get('code');
    if (linked) {
      setCode(linked);
      void resume(linked);
    }
  }, []);

  if (resumed) {
    return (
      <div className="flex flex-col items-start gap-3" data-testid="resume-done">
        <p className="text-lg">
          Welcome back, <strong>{resumed.displayName}</strong>: {resumed.passes} {resumed.passes === 1 ? 'step' : 'steps'} passed, now in this browser too.
        </p>
        <a href="/" className="font-medium text-primary underline-offset-4 hover:underline">
          Go to the course
        </a>
      </div>
    );
  }
  return (
    <CodeForm
      label="Resume code"
      name="resume-code"
      code={code}
      onCodeChange={setCode}
      onSubmit={(entered) => void resume(entered)}
      busy={busy}
      error={error}
      errorTestId="resume-error"
      submitLabel="Continue"
      maxLength={40}
      placeholder="K7QF-M2XD"
    />
  );
}
