'use client';

import dynamic from 'next/dynamic';
import { useEffect, useState, type ReactNode } from 'react';
import { ClassBanner } from '../classroom/class-banner';
import { FollowToggle } from '../classroom/follow-toggle';
import { useLearnerClass } from '../classroom/learner-class-context';
import { useActiveSlot, useConnectionStatus, useFirstTerminalOnScreen, useWorkspace } from './workspace-context';
import { ObserveSlot } from './observe-slot';
import { FONT_SIZE, setPreference } from '../preferences/preferences-store';
import { usePreferences } from '../preferences/use-preferences';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { useMediaQuery } from '../ui/use-media-query';
import { AccessibilityIcon, ColumnsIcon, MinusIcon, PlusIcon, TabsIcon, XIcon } from '../ui/icons';
import { ConnectionOverlay } from '../terminal/connection-overlay';
import { RestartButton } from '../terminal/restart-button';
import { StatusBadge } from '../terminal/status-badge';
import { TerminalView } from '../terminal/terminal-view';

/** The instructor's broadcast view loads only when the learner follows it. */
const FollowView = dynamic(() => import('../classroom/follow-view').then((module) => module.FollowView), { ssr: false });

export interface TerminalPaneProps {
  observe?: ReactNode;
  observeOpen?: boolean;
}

/**
 * The terminal side of a lesson: a toolbar with the sandbox's state and the display controls,
 * one or two terminals (side by side, stacked or in tabs), and room for observation panels.
 */
export function TerminalPane({ observe, observeOpen }: TerminalPaneProps) {
  const { connection, terminals: lessonTerminals } = useWorkspace();
  const status = useConnectionStatus(connection);
  const activeSlot = useActiveSlot(connection);
  const { fontSize, screenReader, terminalLayout } = usePreferences();
  // While the learner follows the instructor, the broadcast covers their own terminals.
  const following = useLearnerClass().snapshot.following;
  const [extraTerminal, setExtraTerminal] = useState(false);
  // A second terminal's xterm is made once terminal 1 is on screen: making one costs the main
  // thread what the first prompt waits for.
  const firstOnScreen = useFirstTerminalOnScreen(connection);

  // After a reload, a second shell the learner had opened comes back with its screen.
  useEffect(() => {
    if (status.state === 'live' && status.liveTerminals >= 2) setExtraTerminal(true);
  }, [status]);

  const count = lessonTerminals === 2 || extraTerminal ? 2 : 1;
  const slots = count === 2 ? [0, 1] : [0];
  // Stacked under the text on a narrow screen, two terminals only fit as tabs.
  const wide = useMediaQuery('(min-width: 64rem)');
  const tabs = count === 2 && (terminalLayout === 'tabs' || !wide);
  const shownSlot = Math.min(activeSlot, count - 1);
  const live = status.state === 'live';

  const closeExtra = () => {
    void connection?.closeTerminal(1);
    connection?.setActiveSlot(0);
    setExtraTerminal(false);
  };

  return (
    <div className="flex h-full min-h-0 flex-col bg-muted/40">
      <div role="group" aria-label="Terminal controls" className="flex flex-wrap items-center gap-x-2 gap-y-1.5 border-b bg-card px-3 py-2">
        <StatusBadge state={status.state} />
        {status.sandbox ? (
          <span className="truncate font-mono text-xs text-muted-foreground" title="Your sandbox's hostname and id" data-testid="sandbox-hostname">
            {status.sandbox.hostname}
          </span>
        ) : null}
        <FollowToggle />
        <div className="ml-auto flex flex-wrap items-center gap-1">
          {count === 2 && wide ? (
            <div role="group" aria-label="Terminal layout" className="flex rounded-md border bg-muted/60 p-0.5">
              <LayoutButton active={!tabs} onClick={() => setPreference('terminalLayout', 'split')} label="Side by side">
                <ColumnsIcon />
              </LayoutButton>
              <LayoutButton active={tabs} onClick={() => setPreference('terminalLayout', 'tabs')} label="Tabs">
                <TabsIcon />
              </LayoutButton>
            </div>
          ) : count === 2 ? null : (
            <Button size="sm" variant="ghost" onClick={() => setExtraTerminal(true)} disabled={!live} title="Open another shell in the same sandbox">
              <PlusIcon />
              Terminal
            </Button>
          )}
          <div role="group" aria-label="Font size" className="flex items-center">
            <Button size="icon" variant="ghost" aria-label="Smaller text" title="Smaller text" disabled={fontSize <= FONT_SIZE.min} onClick={() => setPreference('fontSize', fontSize - 1)}>
              <MinusIcon />
            </Button>
            <span className="w-7 text-center font-mono text-xs text-muted-foreground tabular-nums" aria-live="polite">
              <span className="sr-only">Font size </span>
              {fontSize}
            </span>
            <Button size="icon" variant="ghost" aria-label="Larger text" title="Larger text" disabled={fontSize >= FONT_SIZE.max} onClick={() => setPreference('fontSize', fontSize + 1)}>
              <PlusIcon />
            </Button>
          </div>
          <Button
            size="icon"
            variant="ghost"
            aria-pressed={screenReader}
            aria-label="Screen reader mode"
            title={screenReader ? 'Screen reader mode is on' : 'Turn on screen reader mode (terminal output is read aloud)'}
            onClick={() => setPreference('screenReader', !screenReader)}
            className={cn(screenReader && 'bg-accent-soft text-accent-soft-foreground hover:bg-accent-soft')}
          >
            <AccessibilityIcon />
          </Button>
          <RestartButton connection={connection} state={status.state} />
        </div>
      </div>

      {/* The terminals keep most of the column when the observe panel opens below them (it
          scrolls inside what is left): at 1440×900 two stacked terminals were squeezed to six rows. */}
      <div className={cn('@container relative flex flex-1 flex-col gap-2 p-3', observe ? 'min-h-[62%]' : 'min-h-0')} data-terminal-area>
        <ClassBanner />
        {tabs ? (
          <div role="tablist" aria-label="Terminals" className="flex gap-1">
            {slots.map((slot) => (
              <button
                key={slot}
                role="tab"
                type="button"
                id={`terminal-tab-${slot + 1}`}
                aria-selected={shownSlot === slot}
                aria-controls={`terminal-panel-${slot + 1}`}
                tabIndex={shownSlot === slot ? 0 : -1}
                onClick={() => connection?.setActiveSlot(slot)}
                onKeyDown={(event) => {
                  if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
                    const next = (slot + 1) % count;
                    connection?.setActiveSlot(next);
                    document.getElementById(`terminal-tab-${next + 1}`)?.focus();
                  }
                }}
                className={cn(
                  'rounded-md px-3 py-1.5 text-sm font-medium text-muted-foreground transition-colors hover:text-foreground',
                  shownSlot === slot && 'bg-card text-foreground shadow-sm ring-1 ring-border',
                )}
              >
                Terminal {slot + 1}
              </button>
            ))}
            {lessonTerminals === 1 ? (
              <Button size="icon" variant="ghost" className="ml-auto size-8" aria-label="Close terminal 2" title="Close terminal 2" onClick={closeExtra}>
                <XIcon />
              </Button>
            ) : null}
          </div>
        ) : null}
        <div className={cn('relative min-h-0 flex-1', tabs ? '' : 'flex flex-col gap-3 @3xl:flex-row')}>
          {slots.map((slot) => {
            const label = `Terminal ${slot + 1}`;
            const hidden = (tabs && shownSlot !== slot) || following;
            return (
              <div
                key={slot}
                id={tabs ? `terminal-panel-${slot + 1}` : undefined}
                role={tabs ? 'tabpanel' : undefined}
                aria-labelledby={tabs ? `terminal-tab-${slot + 1}` : undefined}
                className={cn('flex min-h-0 min-w-0 flex-1 flex-col gap-1.5', tabs && 'absolute inset-0', hidden && 'invisible')}
              >
                {!tabs && count === 2 ? (
                  <div className="flex h-6 items-center justify-between px-1 text-xs font-medium text-muted-foreground">
                    <span className={cn(activeSlot === slot && 'text-foreground')}>
                      {label}
                      {slot === 0 ? ' · the sandbox’s first shell' : ' · another shell, same sandbox'}
                    </span>
                    {slot === 1 && lessonTerminals === 1 ? (
                      <Button size="icon" variant="ghost" className="size-6" aria-label="Close terminal 2" title="Close terminal 2" onClick={closeExtra}>
                        <XIcon />
                      </Button>
                    ) : null}
                  </div>
                ) : null}
                <TerminalView
                  connection={slot === 0 || firstOnScreen ? connection : null}
                  slot={slot}
                  label={label}
                  visible={!hidden}
                  connectionLive={live}
                />
              </div>
            );
          })}
        </div>
        <ConnectionOverlay connection={connection} status={status} />
        {following ? <FollowView /> : null}
        <p className="hidden truncate text-xs text-muted-foreground lg:block">
          Copy <Kbd>Ctrl+Shift+C</Kbd> · Paste <Kbd>Ctrl+Shift+V</Kbd> · or right-click · <Kbd>Ctrl+C</Kbd> stops the running program
        </p>
      </div>

      {observe ? (
        // Hidden, not unmounted, while following: the broadcast gets the height, the panels keep their state.
        <div className={cn('contents', following && 'hidden')}>
          <ObserveSlot defaultOpen={observeOpen}>{observe}</ObserveSlot>
        </div>
      ) : null}
    </div>
  );
}

function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="rounded border bg-card px-1 py-px font-mono text-[0.68rem] text-foreground">{children}</kbd>;
}

function LayoutButton({ active, onClick, label, children }: { active: boolean; onClick: () => void; label: string; children: ReactNode }) {
  return (
    <button
      type="button"
      aria-pressed={active}
      aria-label={label}
      title={label}
      onClick={onClick}
      className={cn(
        'inline-flex size-7 items-center justify-center rounded text-muted-foreground transition-colors hover:text-foreground [&_svg]:size-4',
        active && 'bg-card text-foreground shadow-sm',
      )}
    >
      {children}
    </button>
  );
}

