'use client';

import Link from 'next/link';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { fetchLabUrl } from '../connection/lab-config';
import { localTokenStore } from '../connection/lab-connection';
import { useStore } from '../state/use-store';
import { KeyIcon } from '../ui/icons';
import { ClassConnection, type ClassSnapshot } from './class-connection';
import { forgetInstructorToken, INSTRUCTOR_SESSION_KEY, takeInstructorToken } from './instructor-token';

interface Instructor {
  connection: ClassConnection;
  /** For the instructor's own demo sandbox connection. */
  instructorToken: string;
}

const InstructorContext = createContext<Instructor | null>(null);

/**
 * The door to the instructor's pages. The token comes from the link lab-server printed
 * (`/instructor#token=…`); lab-server checks it in the handshake. Without one, or with one it
 * refuses, the page says how to get the right link and shows nothing of the class.
 */
export function InstructorGate({ children }: { children: ReactNode }) {
  // undefined: not read yet (server render and first paint); null: there is none.
  const [token, setToken] = useState<string | null>();
  const [connection, setConnection] = useState<ClassConnection | null>(null);

  useEffect(() => {
    // Also when the link is pasted into a tab that is already here (only the fragment changes).
    const read = () => setToken(takeInstructorToken() ?? null);
    read();
    window.addEventListener('hashchange', read);
    return () => window.removeEventListener('hashchange', read);
  }, []);

  useEffect(() => {
    if (!token) return;
    const created = new ClassConnection({ instructorToken: token, labUrl: fetchLabUrl, tokens: localTokenStore(INSTRUCTOR_SESSION_KEY) });
    setConnection(created);
    created.start();
    return () => {
      created.dispose();
      setConnection(null);
    };
  }, [token]);

  const snapshot = useClassSnapshot(connection);

  useEffect(() => {
    if (snapshot.state === 'refused') forgetInstructorToken();
  }, [snapshot.state]);

  if (token === undefined || (token && !connection)) return <GateMessage title="Opening the class dashboard…" busy />;
  if (token === null) return <NeedLink />;
  if (snapshot.state === 'refused') return <NeedLink refused={snapshot.message} />;
  if (!snapshot.classState) {
    return <GateMessage title="Connecting to the lab…" busy detail={snapshot.state === 'connecting' && snapshot.message !== 'Connecting to the lab…' ? snapshot.message : undefined} />;
  }
  return <InstructorContext value={{ connection: connection!, instructorToken: token }}>{children}</InstructorContext>;
}

export function useInstructor(): Instructor {
  const instructor = useContext(InstructorContext);
  if (!instructor) throw new Error('useInstructor() needs an <InstructorGate> around it.');
  return instructor;
}

const STARTING: ClassSnapshot = { state: 'connecting', message: 'Connecting to the lab…' };

export function useClassSnapshot(connection: ClassConnection | null): ClassSnapshot {
  return useStore(connection?.state, STARTING);
}

function NeedLink({ refused }: { refused?: string }) {
  return (
    <main className="flex flex-1 items-center justify-center px-5 py-16" data-testid="instructor-refused">
      <div className="w-full max-w-lg rounded-2xl border bg-card p-7 shadow-sm">
        <span className="flex size-11 items-center justify-center rounded-xl bg-warning-soft text-warning">
          <KeyIcon className="size-5" />
        </span>
        <h1 className="mt-4 text-2xl font-semibold tracking-tight">{refused ? 'That instructor link is not valid' : 'You need the instructor link'}</h1>
        <p className="mt-2 text-muted-foreground">
          {refused
            ? 'The lab server did not accept the token in this link, so nothing of the class is shown here.'
            : 'The class dashboard is only for the instructor, and opens from a private link with a token in it.'}
        </p>
        <div className="mt-5 rounded-lg border bg-muted/60 p-4 text-sm">
          <p className="font-medium">Where to find it</p>
          <p className="mt-1 text-muted-foreground">
            lab-server prints it when it starts, as <span className="font-mono text-foreground">Instructor dashboard: …/instructor#token=…</span>. With{' '}
            <span className="font-mono text-foreground">ISOLAB_INSTRUCTOR_TOKEN</span> set, the link stays the same across restarts.
          </p>
        </div>
        <p className="mt-5 text-sm text-muted-foreground">
          Here to learn?{' '}
          <Link href="/" className="font-medium text-accent underline-offset-2 hover:underline">
            Go to the course
          </Link>
          .
        </p>
      </div>
    </main>
  );
}

function GateMessage({ title, detail, busy }: { title: string; detail?: string; busy?: boolean }) {
  return (
    <main className="flex flex-1 items-center justify-center px-5 py-16">
      <div role="status" className="flex items-center gap-3 text-muted-foreground">
        {busy ? <span aria-hidden className="size-4 animate-spin rounded-full border-2 border-current border-t-transparent text-accent" /> : null}
        <span>
          {title}
          {detail ? <span className="block text-sm">{detail}</span> : null}
        </span>
      </div>
    </main>
  );
}
