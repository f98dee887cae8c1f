'use client';

import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { LearnerClassContext } from '../classroom/learner-class-context';
import { LearnerClassroom } from '../classroom/learner-classroom';
import { displayNameStore } from '../classroom/use-display-name';
import { lessonPageConnection, releaseEarlyLesson } from '../connection/early-lesson';
import { markFirstPrompt } from '../connection/first-prompt-marks';
import type { SandboxConnection } from '../connection/sandbox-connection';
import { progressStore } from '../progress/use-progress';
import { exposeConnection } from '../terminal/test-hooks';
import { SplitLayout } from './split-layout';
import { TerminalPane } from './terminal-pane';
import { WorkspaceContext, type Workspace } from './workspace-context';

export interface LessonWorkspaceProps {
  slug: string;
  terminals: 1 | 2;
  /** The lesson's step ids in order: the classroom reports which are passed and which is next. */
  stepIds: readonly string[];
  /** The lesson text, rendered on the server. */
  text: ReactNode;
  /**
   * The observation panels (cgroup meters, host view, namespace map) for this lesson, shown in a
   * collapsible area under the terminals. They read the sandbox through useWorkspace().
   */
  observe?: ReactNode;
  /** Open the observation area at first (the lesson's `panel` frontmatter). */
  observeOpen?: boolean;
}

/**
 * The lesson page's interactive frame: the text beside the terminals, the one sandbox
 * connection they share, and the page's place in the classroom on that connection. Both live
 * exactly as long as the page is open.
 */
export function LessonWorkspace({ slug, terminals, stepIds, text, observe, observeOpen }: LessonWorkspaceProps) {
  const [page, setPage] = useState<{ connection: SandboxConnection; classroom: LearnerClassroom } | null>(null);
  // The step list is the lesson's; it changes only with the slug, so the key keeps it stable.
  const stepKey = stepIds.join(' ');

  useEffect(() => {
    markFirstPrompt('hydrated');
    // Opened by its address, the lesson's sandbox has been starting since before hydration.
    const connection = lessonPageConnection(slug);
    const classroom = new LearnerClassroom(connection, {
      slug,
      stepIds: stepKey ? stepKey.split(' ') : [],
      progress: progressStore,
      names: displayNameStore,
    });
    // What lab-server says right after the handshake (the instructor is viewing this learner, a
    // broadcast is live) must reach the classroom: it listens before this page's first socket
    // exists, or, on an early connection, is handed what that heard so far. From then on events
    // go only to the listeners there are.
    classroom.start();
    connection.stopKeepingEvents();
    const unexpose = exposeConnection(connection);
    setPage({ connection, classroom });
    connection.start();
    progressStore.visitLesson(slug);
    return () => {
      unexpose();
      classroom.dispose();
      connection.dispose();
      releaseEarlyLesson();
      setPage(null);
    };
  }, [slug, stepKey]);

  const connection = page?.connection ?? null;
  const workspace = useMemo<Workspace>(() => ({ slug, terminals, connection }), [slug, terminals, connection]);

  return (
    <WorkspaceContext value={workspace}>
      <LearnerClassContext value={page?.classroom ?? null}>
        <SplitLayout
          start={text}
          end={<TerminalPane observe={observe} observeOpen={observeOpen} />}
          startLabel="Lesson"
          endLabel="Terminal"
        />
      </LearnerClassContext>
    </WorkspaceContext>
  );
}
