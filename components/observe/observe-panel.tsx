'use client';

import { useEffect, useId, useRef, useState } from 'react';
import type { ObserveView } from '../../protocol';
import { useStore } from '../state/use-store';
import { cn } from '../ui/cn';
import { EventTimeline } from './event-timeline';
import { HostViewTable } from './host-view-table';
import { Meters } from './meters';
import { NamespaceMapPicture } from './namespace-map';
import { ObserveFeed, type ObserveClient, type ObserveSnapshot } from './observe-feed';

/** Each panel streams the observe view of its name; lessons open one by that name (`panel: hostView`). */
const PANELS: ReadonlyArray<{ name: ObserveView; title: string }> = [
  { name: 'meters', title: 'Cgroup meters' },
  { name: 'hostView', title: 'Host view' },
  { name: 'nsMap', title: 'Namespace map' },
];

export interface ObservePanelProps {
  /** The lesson page's socket; undefined while connecting. A new client (after a reconnect) resubscribes. */
  client: ObserveClient | undefined;
  sandboxId: string | undefined;
  /** The panel a lesson needs; with it the panel starts open on that tab. */
  defaultPanel?: ObserveView;
  /** Open on first render; defaults to open when the lesson named a panel. */
  defaultOpen?: boolean;
  /** False inside a container that collapses it already (the lesson page's observe slot). */
  collapsible?: boolean;
  className?: string;
}

const EMPTY: ObserveSnapshot = { history: [], events: [] };

/**
 * The kernel's side of the sandbox, live: cgroup meters with an event timeline, the host's view
 * of its processes, and a map of its namespaces. It streams only the tab on screen, and nothing
 * while collapsed, hidden (a collapsed container, a background tab) or scrolled out of view.
 */
export function ObservePanel({ client, sandboxId, defaultPanel, defaultOpen, collapsible = true, className }: ObservePanelProps) {
  const [expanded, setOpen] = useState(defaultOpen ?? defaultPanel !== undefined);
  const open = !collapsible || expanded;
  const [active, setActive] = useState<ObserveView>(defaultPanel ?? 'meters');
  const [feed, setFeed] = useState<ObserveFeed>();
  const visible = useOnScreen();
  const id = useId();

  useEffect(() => {
    if (!client || !sandboxId) return;
    const created = new ObserveFeed(client, sandboxId);
    setFeed(created);
    return () => {
      created.dispose();
      setFeed(undefined);
    };
  }, [client, sandboxId]);

  useEffect(() => {
    void feed?.show(open && visible.onScreen ? [active] : []);
  }, [feed, open, active, visible.onScreen]);

  const snapshot = useStore(feed?.state, EMPTY);

  return (
    <section
      ref={visible.ref}
      aria-label="Observe the sandbox"
      data-observe-panel={open ? active : 'closed'}
      data-streaming={open && visible.onScreen}
      className={cn(collapsible && 'rounded-xl border bg-background', className)}
    >
      <header className="flex flex-wrap items-center gap-2 px-3 py-2">
        {collapsible && (
          <button
            type="button"
            aria-expanded={open}
            aria-controls={`${id}-body`}
            onClick={() => setOpen(!open)}
            className="flex items-center gap-1.5 rounded-md px-1 text-sm font-semibold hover:text-accent"
          >
            <svg viewBox="0 0 16 16" aria-hidden className={cn('size-3.5 transition-transform', open && 'rotate-90')}>
              <path d="M6 3l5 5-5 5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
            Observe
          </button>
        )}
        <div role="tablist" aria-label="Observe panels" className="flex gap-1">
          {PANELS.map((panel) => (
            <button
              key={panel.name}
              type="button"
              role="tab"
              id={`${id}-tab-${panel.name}`}
              aria-selected={open && active === panel.name}
              aria-controls={`${id}-body`}
              onClick={() => {
                setActive(panel.name);
                setOpen(true);
              }}
              className={cn(
                'rounded-md px-2 py-1 text-xs font-medium transition-colors',
                open && active === panel.name ? 'bg-accent-soft text-accent-soft-foreground' : 'text-muted-foreground hover:bg-muted hover:text-foreground',
              )}
            >
              {panel.title}
            </button>
          ))}
        </div>
        {snapshot.cgroupVersion && <span className="ml-auto text-xs text-muted-foreground">cgroup {snapshot.cgroupVersion}</span>}
      </header>
      {open && (
        <div id={`${id}-body`} role="tabpanel" aria-labelledby={`${id}-tab-${active}`} className="flex flex-col gap-3 border-t p-3">
          {!sandboxId ? (
            <p className="text-sm text-muted-foreground">Waiting for the sandbox…</p>
          ) : snapshot.error ? (
            <p role="alert" className="text-sm text-danger">
              {snapshot.error}
            </p>
          ) : active === 'meters' ? (
            <>
              <Meters history={snapshot.history} />
              <EventTimeline events={snapshot.events} />
            </>
          ) : active === 'hostView' ? (
            <HostViewTable hostView={snapshot.hostView} />
          ) : (
            <NamespaceMapPicture nsMap={snapshot.nsMap} />
          )}
        </div>
      )}
    </section>
  );
}

/** Whether the element is on screen: laid out (not in a collapsed container), in view, in a visible tab. */
function useOnScreen() {
  const ref = useRef<HTMLElement>(null);
  const [inView, setInView] = useState(false);
  const [pageVisible, setPageVisible] = useState(true);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new IntersectionObserver(([entry]) => setInView(entry.isIntersecting));
    observer.observe(element);
    const onVisibility = () => setPageVisible(document.visibilityState === 'visible');
    onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      observer.disconnect();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, []);
  return { ref, onScreen: inView && pageVisible };
}
