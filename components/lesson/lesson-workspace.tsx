'use client';

import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { LearnerClassProvider } from '../classroom/learner-class-context';
import { progressStore } from '../progress/use-progress';
import { fetchLabUrl } from '../terminal/lab-config';
import { localTokenStore, SandboxConnection } from '../terminal/sandbox-connection';
import { TerminalPane } from '../terminal/terminal-pane';
import { exposeConnection } from '../terminal/test-hooks';
import { SplitLayout } from './split-layout';
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
 * The lesson page's interactive frame: the text beside the terminals, and the one sandbox
 * connection they share. The connection lives exactly as long as the page is open.
 */
export function LessonWorkspace({ slug, terminals, stepIds, text, observe, observeOpen }: LessonWorkspaceProps) {
  const [connection, setConnection] = useState<SandboxConnection | null>(null);

  useEffect(() => {
    const created = new SandboxConnection({ key: slug, labUrl: fetchLabUrl, tokens: localTokenStore() });
    const unexpose = exposeConnection(created);
    setConnection(created);
    created.start();
    progressStore.visitLesson(slug);
    return () => {
      unexpose();
      created.dispose();
      setConnection(null);
    };
  }, [slug]);

  const workspace = useMemo<Workspace>(() => ({ slug, terminals, connection }), [slug, terminals, connection]);

  return (
    <WorkspaceContext value={workspace}>
      <LearnerClassProvider stepIds={stepIds}>
        <SplitLayout
          start={text}
          end={<TerminalPane observe={observe} observeOpen={observeOpen} />}
          startLabel="Lesson"
          endLabel="Terminal"
        />
      </LearnerClassProvider>
    </WorkspaceContext>
  );
}
