'use client';

import { useEffect, useRef, useState } from 'react';
import { storeClassCode } from '../../lib/class-code';
import { LabClient, LabRequestError } from '../../lib/lab-client';
import { fetchLabUrl } from '../connection/lab-config';
import { SESSION_TOKEN_KEY } from '../connection/lab-connection';
import { CodeForm } from '../ui/code-form';

/**
 * Tries the code with a real handshake, so a wrong one is told at once. The session it gets is
 * kept as this browser's session, so the lesson page carries on with it.
 */
export function JoinForm() {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [checking, setChecking] = useState(false);
  const next = useRef('/');

  const join = async (entered: string) => {
    setChecking(true);
    setError(undefined);
    try {
      const client = await LabClient.connect(await fetchLabUrl(), { classCode: entered.trim() });
      storeClassCode(entered.trim());
      window.localStorage.setItem(SESSION_TOKEN_KEY, client.session!.token);
      client.close();
      window.location.assign(next.current);
    } catch (failure) {
      setChecking(false);
      setError(failure instanceof LabRequestError || failure instanceof Error ? failure.message : String(failure));
    }
  };

  // A link may carry the code (/join?code=…): then there is nothing to type.
  useEffect(() => {
    const params = new URLSearchParams(window.location.search);
    const target = params.get('next');
    // Only a path on this site: a link must not send learners elsewhere.
    if (target?.startsWith('/') && !target.startsWith('//')) next.current = target;
    const linked = params.get('code');
    if (linked) {
      setCode(linked);
      void join(linked);
    }
  }, []);

  return (
    <CodeForm
      label="Class code"
      name="class-code"
      code={code}
      onCodeChange={setCode}
      onSubmit={(entered) => void join(entered)}
      busy={checking}
      error={error}
      errorTestId="join-error"
      submitLabel="Join"
      maxLength={64}
    />
  );
}
