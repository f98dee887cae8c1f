import type { HostView } from '../../protocol';
import { cn } from '../ui/cn';

/** What the host sees of the sandbox: the same processes under other pids and uids. */
export function HostViewTable({ hostView, className }: { hostView?: HostView; className?: string }) {
  if (!hostView) return <p className="p-3 text-sm text-muted-foreground">Asking the host about this sandbox…</p>;
  return (
    <div className={cn('flex flex-col gap-3', className)}>
      <p className="text-sm text-muted-foreground">
        The same processes as <code className="font-mono">ps</code> shows inside, seen from the host. Root inside is host uid{' '}
        {hostView.uidMap.map((m) => (
          <code key={m.hostStart} className="font-mono">
            {m.hostStart}
            {m.count > 1 ? `–${m.hostStart + m.count - 1}` : ''} (uid {m.insideStart} inside)
          </code>
        ))}
        .
      </p>
      <div className="overflow-x-auto rounded-lg border bg-card">
        <table aria-label="Processes of the sandbox as the host sees them" className="w-full text-left text-sm tabular-nums">
          <thead className="bg-muted text-xs text-muted-foreground">
            <tr>
              <th className="px-2 py-1.5 font-medium">PID inside</th>
              <th className="px-2 py-1.5 font-medium">PID on host</th>
              <th className="px-2 py-1.5 font-medium">UID inside</th>
              <th className="px-2 py-1.5 font-medium">UID on host</th>
              <th className="px-2 py-1.5 font-medium">Command</th>
              <th className="px-2 py-1.5 font-medium">Cgroup (host path)</th>
            </tr>
          </thead>
          <tbody className="font-mono text-xs">
            {hostView.processes.map((p) => (
              <tr key={p.hostPid} data-host-pid={p.hostPid} className="border-t">
                <td className="px-2 py-1">
                  {p.pidInside}
                  {p.nsPids.length > 2 && <span className="text-muted-foreground" title="pid in each nested pid namespace"> ({p.nsPids.slice(2).join(' → ')})</span>}
                </td>
                <td className="px-2 py-1">{p.hostPid}</td>
                <td className="px-2 py-1">{p.uidInside ?? '—'}</td>
                <td className="px-2 py-1">{p.hostUid}</td>
                <td className="max-w-64 truncate px-2 py-1" title={p.command}>
                  {p.command}
                </td>
                <td className="px-2 py-1 text-muted-foreground">{p.cgroupPath}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="overflow-x-auto rounded-lg border bg-card">
        <table aria-label="Namespaces of the sandbox against lab-server's" className="w-full text-left text-sm tabular-nums">
          <thead className="bg-muted text-xs text-muted-foreground">
            <tr>
              <th className="px-2 py-1.5 font-medium">Namespace</th>
              <th className="px-2 py-1.5 font-medium">Sandbox inode</th>
              <th className="px-2 py-1.5 font-medium">lab-server inode</th>
              <th className="px-2 py-1.5 font-medium" />
            </tr>
          </thead>
          <tbody className="font-mono text-xs">
            {hostView.namespaces.map((n) => (
              <tr key={n.kind} data-namespace={n.kind} className="border-t">
                <td className="px-2 py-1">{n.kind}</td>
                <td className="px-2 py-1">{n.sandboxInode ?? '—'}</td>
                <td className="px-2 py-1">{n.labServerInode ?? '—'}</td>
                <td className="px-2 py-1">
                  <span className={cn('rounded px-1.5 py-0.5 font-sans font-semibold', n.relation === 'shared' ? 'bg-warning-soft text-warning' : 'bg-success-soft text-success')}>
                    {n.relation}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
