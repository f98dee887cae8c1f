import type { ReactNode } from 'react';
import type { MeterSample } from '../../protocol';
import { cn } from '../ui/cn';
import { HistoryChart } from './history-chart';
import { HISTORY_SAMPLES } from './observe-feed';
import { formatBytes, formatCpus, percentOf } from './format';

export interface MetersProps {
  history: readonly MeterSample[];
  className?: string;
}

/** Memory, pids and CPU of the sandbox's cgroup, each with the last minute as a chart. */
export function Meters({ history, className }: MetersProps) {
  const latest = history.at(-1);
  if (!latest) return <p className="p-3 text-sm text-muted-foreground">Reading the sandbox&rsquo;s cgroup…</p>;
  const { memory, pids, cpu } = latest.stats;
  const quota = cpu.quotaUsec === null ? null : cpu.quotaUsec / cpu.periodUsec;
  const cpuUsage = latest.cpuUsage ?? 0;
  return (
    <div className={cn('grid gap-3 sm:grid-cols-3', className)}>
      <MeterCard
        name="memory"
        title="Memory"
        value={formatBytes(memory.currentBytes)}
        raw={memory.currentBytes}
        limit={memory.limitBytes === null ? 'no limit' : `of ${formatBytes(memory.limitBytes)}`}
        percent={percentOf(memory.currentBytes, memory.limitBytes)}
        detail={
          <>
            {memory.peakBytes !== null && <span data-peak-bytes={memory.peakBytes}>peak {formatBytes(memory.peakBytes)}</span>}
            <span className={cn(memory.oomKills > 0 && 'font-semibold text-danger')}>
              {memory.oomKills} OOM {memory.oomKills === 1 ? 'kill' : 'kills'}
            </span>
          </>
        }
      >
        <HistoryChart
          capacity={HISTORY_SAMPLES}
          max={memory.limitBytes ?? Math.max(...history.map((s) => s.stats.memory.currentBytes))}
          limit={memory.limitBytes === null ? undefined : { value: memory.limitBytes, label: `limit ${formatBytes(memory.limitBytes)}` }}
          series={[
            { label: 'memory in use', className: 'text-accent', area: true, values: history.map((s) => s.stats.memory.currentBytes) },
            // The peak keeps a hog that lived between two readings on the chart, as a step.
            { label: 'peak', className: 'text-danger/70', values: history.map((s) => s.stats.memory.peakBytes) },
          ]}
        />
      </MeterCard>

      <MeterCard
        name="pids"
        title="Processes"
        value={String(pids.current)}
        raw={pids.current}
        limit={pids.max === null ? 'no limit' : `of ${pids.max} (pids.max)`}
        percent={percentOf(pids.current, pids.max)}
        detail={<span className={cn(pids.forksRefused > 0 && 'font-semibold text-danger')}>{pids.forksRefused} forks refused</span>}
      >
        <HistoryChart
          capacity={HISTORY_SAMPLES}
          max={pids.max ?? Math.max(...history.map((s) => s.stats.pids.current))}
          limit={pids.max === null ? undefined : { value: pids.max, label: `pids.max ${pids.max}` }}
          series={[{ label: 'processes', className: 'text-accent', area: true, values: history.map((s) => s.stats.pids.current) }]}
        />
      </MeterCard>

      <MeterCard
        name="cpu"
        title="CPU"
        value={formatCpus(cpuUsage)}
        raw={cpuUsage}
        limit={quota === null ? 'no quota' : `of ${formatCpus(quota)} quota`}
        percent={quota === null ? undefined : percentOf(cpuUsage, quota)}
        detail={
          <>
            <span className={cn((latest.throttledMsPerSecond ?? 0) > 0 && 'font-semibold text-warning')}>throttled {Math.round(latest.throttledMsPerSecond ?? 0)} ms/s</span>
            <span>{cpu.throttledPeriods} throttled periods</span>
          </>
        }
      >
        <HistoryChart
          capacity={HISTORY_SAMPLES}
          max={quota ?? Math.max(1, ...history.map((s) => s.cpuUsage ?? 0))}
          limit={quota === null ? undefined : { value: quota, label: `quota ${formatCpus(quota)}` }}
          series={[
            { label: 'CPU in use', className: 'text-accent', area: true, values: history.map((s) => s.cpuUsage) },
            // Throttled ms per second, drawn on the same 0..quota scale as a share of a second.
            { label: 'time throttled', className: 'text-warning', values: history.map((s) => (s.throttledMsPerSecond === null ? null : (s.throttledMsPerSecond / 1000) * (quota ?? 1))) },
          ]}
        />
      </MeterCard>
    </div>
  );
}

interface MeterCardProps {
  name: string;
  title: string;
  value: string;
  /** The number behind `value`, for tests and tools. */
  raw: number;
  limit: string;
  percent?: number;
  detail: ReactNode;
  children: ReactNode;
}

function MeterCard({ name, title, value, raw, limit, percent, detail, children }: MeterCardProps) {
  return (
    <section data-meter={name} aria-label={`${title} meter`} className="flex min-w-0 flex-col gap-2 rounded-lg border bg-card p-3">
      <header className="flex items-baseline justify-between gap-2">
        <h4 className="text-xs font-semibold tracking-wide text-muted-foreground uppercase">{title}</h4>
        {percent !== undefined && (
          <span className={cn('text-xs tabular-nums', percent >= 90 ? 'font-semibold text-danger' : 'text-muted-foreground')}>{percent}%</span>
        )}
      </header>
      <p className="flex items-baseline gap-1.5">
        <span data-meter-value={raw} className="font-mono text-xl font-semibold tabular-nums">
          {value}
        </span>
        <span className="text-xs text-muted-foreground">{limit}</span>
      </p>
      {children}
      <p className="flex flex-wrap gap-x-3 gap-y-0.5 text-xs text-muted-foreground tabular-nums">{detail}</p>
    </section>
  );
}
