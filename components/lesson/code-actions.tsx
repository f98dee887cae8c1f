'use client';

import { useEffect, useState } from 'react';
import { Button } from '../ui/button';
import { copyText } from '../ui/clipboard';
import { cn } from '../ui/cn';
import { CheckIcon, CopyIcon, PlayIcon } from '../ui/icons';
import { useActiveSlot, useConnectionStatus, useWorkspace } from './workspace-context';

/**
 * Run types the block into a terminal and presses Enter; Copy puts it on the clipboard. A block
 * marked terminal=2 goes to the second terminal; otherwise Run uses the lesson's first terminal,
 * or, when the learner opened a second one themselves, the one they used last.
 */
export function CodeActions({ code, runnable, terminal, className }: { code: string; runnable: boolean; terminal: 1 | 2; className?: string }) {
  const { connection, terminals } = useWorkspace();
  const status = useConnectionStatus(connection);
  const activeSlot = useActiveSlot(connection);
  const [copied, setCopied] = useState(false);
  const [ran, setRan] = useState(false);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  useEffect(() => {
    if (!ran) return;
    const timer = setTimeout(() => setRan(false), 1200);
    return () => clearTimeout(timer);
  }, [ran]);

  const slot = terminal === 2 ? 1 : terminals === 2 ? 0 : activeSlot;
  const live = status.state === 'live';
  const summary = code.split('\n').find((line) => line.trim()) ?? code;

  return (
    <div className={cn('flex items-center gap-1', className)}>
      <Button
        size="sm"
        variant="ghost"
        onClick={async () => setCopied(await copyText(code))}
        aria-label={`Copy: ${summary}`}
        title="Copy to the clipboard"
      >
        {copied ? <CheckIcon className="text-success" /> : <CopyIcon />}
        <span aria-live="polite">{copied ? 'Copied' : 'Copy'}</span>
      </Button>
      {runnable ? (
        <Button
          size="sm"
          variant="soft"
          disabled={!live}
          onClick={() => setRan(connection?.run(code, slot) ?? false)}
          aria-label={`Run in terminal ${slot + 1}: ${summary}`}
          title={live ? `Type this into terminal ${slot + 1} and press Enter` : 'Waiting for the terminal to be live'}
          data-testid="run-button"
        >
          {ran ? <CheckIcon /> : <PlayIcon />}
          Run
        </Button>
      ) : null}
    </div>
  );
}
