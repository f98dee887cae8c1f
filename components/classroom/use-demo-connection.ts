'use client';

import { useEffect, useState } from 'react';
import { fetchLabUrl } from '../connection/lab-config';
import { localTokenStore } from '../connection/lab-connection';
import { SandboxConnection } from '../connection/sandbox-connection';
import { exposeConnection } from '../terminal/test-hooks';
import { useInstructor } from './instructor-gate';
import { INSTRUCTOR_SESSION_KEY } from './instructor-token';

/**
 * The instructor's own sandbox, shared by the dashboard and demo mode (same key, same session),
 * so a demo started on one carries on in the other. It is opened even while the lab is closed
 * to learners.
 */
export const DEMO_SANDBOX_KEY = 'demo';

export function useDemoConnection(): SandboxConnection | null {
  const { instructorToken } = useInstructor();
  const [connection, setConnection] = useState<SandboxConnection | null>(null);

  useEffect(() => {
    const created = new SandboxConnection({
      key: DEMO_SANDBOX_KEY,
      labUrl: fetchLabUrl,
      tokens: localTokenStore(INSTRUCTOR_SESSION_KEY),
      instructorToken,
    });
    const unexpose = exposeConnection(created);
    setConnection(created);
    created.start();
    return () => {
      unexpose();
      created.dispose();
      setConnection(null);
    };
  }, [instructorToken]);

  return connection;
}
