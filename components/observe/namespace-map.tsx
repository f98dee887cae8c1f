import { useMemo } from 'react';
import type { MapNamespace, NamespaceMap } from '../../protocol';
import { cn } from '../ui/cn';
import { DOT_RADIUS, LABEL_WIDTH, layoutNamespaceMap } from './ns-map-layout';

const ORIGIN: Record<MapNamespace['origin'], { label: string; bubble: string; text: string }> = {
  sandbox: { label: 'the sandbox’s own', bubble: 'fill-accent-soft stroke-accent', text: 'fill-accent-soft-foreground' },
  host: { label: 'shared with the host', bubble: 'fill-warning-soft stroke-warning', text: 'fill-warning' },
  nested: { label: 'made inside the sandbox', bubble: 'fill-success-soft stroke-success', text: 'fill-success' },
};

/**
 * The sandbox's processes grouped by namespace: for each kind, one bubble per namespace with the
 * processes in it. A new bubble appears when the learner runs `unshare` or `ip netns add`.
 */
export function NamespaceMapPicture({ nsMap, className }: { nsMap?: NamespaceMap; className?: string }) {
  const layout = useMemo(() => (nsMap ? layoutNamespaceMap(nsMap) : undefined), [nsMap]);
  if (!layout) return <p className="p-3 text-sm text-muted-foreground">Mapping the sandbox&rsquo;s namespaces…</p>;
  return (
    <figure className={cn('flex flex-col gap-2', className)}>
      <div className="overflow-x-auto rounded-lg border bg-card">
        <svg
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          width={layout.width}
          role="img"
          aria-label="Namespace map: the sandbox's processes grouped by namespace"
          className="max-w-none font-sans"
        >
          {layout.rows.map((row) => (
            <g key={row.kind} data-kind={row.kind}>
              <text x={12} y={row.y + row.height / 2 - 4} className="fill-foreground text-[15px] font-semibold">
                {row.kind}
              </text>
              <text x={12} y={row.y + row.height / 2 + 14} className="fill-muted-foreground text-[11px]">
                {row.isolates}
              </text>
              {row.bubbles.map((bubble) => (
                <g key={bubble.namespace.inode} data-namespace={`${row.kind}:${bubble.namespace.inode}`} data-origin={bubble.namespace.origin}>
                  <title>{`${row.kind}:[${bubble.namespace.inode}], ${ORIGIN[bubble.namespace.origin].label}`}</title>
                  <circle cx={bubble.cx} cy={bubble.cy} r={bubble.r} className={cn(ORIGIN[bubble.namespace.origin].bubble)} strokeWidth={1.5} />
                  <text x={bubble.cx} y={bubble.cy + bubble.r + 14} textAnchor="middle" className={cn('text-[11px] font-semibold', ORIGIN[bubble.namespace.origin].text)}>
                    {`${row.kind}:[${bubble.namespace.inode}]`}
                  </text>
                  {bubble.namespace.mountedAt.length > 0 && (
                    <text x={bubble.cx} y={bubble.cy + 4} textAnchor="middle" className="fill-muted-foreground text-[10px]">
                      {bubble.namespace.mountedAt[0]}
                    </text>
                  )}
                  {bubble.processes.map(({ process, x, y }) => (
                    <g key={process.hostPid} data-pid-inside={process.pidInside}>
                      <title>{`pid ${process.pidInside} inside (${process.hostPid} on the host): ${process.command}`}</title>
                      <circle cx={x} cy={y} r={DOT_RADIUS} className="fill-card stroke-foreground/40" strokeWidth={1} />
                      <text x={x} y={y + 1} textAnchor="middle" dominantBaseline="middle" className="fill-foreground font-mono text-[11px] font-semibold">
                        {process.pidInside}
                      </text>
                    </g>
                  ))}
                </g>
              ))}
            </g>
          ))}
          <line x1={LABEL_WIDTH - 14} x2={LABEL_WIDTH - 14} y1={8} y2={layout.height - 20} className="stroke-border" />
        </svg>
      </div>
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted-foreground">
        {Object.entries(ORIGIN).map(([origin, style]) => (
          <span key={origin} className="flex items-center gap-1.5">
            <svg viewBox="0 0 12 12" className="size-3" aria-hidden>
              <circle cx={6} cy={6} r={5} className={style.bubble} strokeWidth={1.5} />
            </svg>
            {style.label}
          </span>
        ))}
        <span>Numbers are pids inside the sandbox; hover for the command.</span>
      </figcaption>
      {nsMap && <ProcessLegend nsMap={nsMap} />}
    </figure>
  );
}

function ProcessLegend({ nsMap }: { nsMap: NamespaceMap }) {
  return (
    <ul aria-label="Processes" className="flex flex-wrap gap-x-4 gap-y-0.5 font-mono text-xs text-muted-foreground">
      {nsMap.processes.map((p) => (
        <li key={p.hostPid}>
          <span className="font-semibold text-foreground">{p.pidInside}</span> {p.command.length > 40 ? `${p.command.slice(0, 39)}…` : p.command}
        </li>
      ))}
    </ul>
  );
}
