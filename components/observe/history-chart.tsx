import { cn } from '../ui/cn';

export interface ChartSeries {
  values: ReadonlyArray<number | null>;
  /** A Tailwind stroke/fill colour class, e.g. "text-accent". */
  className: string;
  label: string;
  /** Fill the area under the line. */
  area?: boolean;
}

export interface HistoryChartProps {
  series: ChartSeries[];
  /** The top of the scale, e.g. the limit. */
  max: number;
  /** A dashed line for the limit or quota, when there is one. */
  limit?: { value: number; label: string };
  /** How many samples the width stands for, so a short history starts at the right. */
  capacity: number;
  className?: string;
}

const WIDTH = 240;
const HEIGHT = 56;

/** A small line chart of the last minute, in plain SVG. */
export function HistoryChart({ series, max, limit, capacity, className }: HistoryChartProps) {
  const scaleMax = Math.max(max, limit?.value ?? 0, 1e-9);
  const x = (i: number, count: number) => ((capacity - count + i) / Math.max(1, capacity - 1)) * WIDTH;
  const y = (value: number) => HEIGHT - 2 - (Math.min(value, scaleMax) / scaleMax) * (HEIGHT - 4);
  const label = series.map((s) => s.label).join(', ');
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={`History of ${label}`} className={cn('h-14 w-full overflow-visible', className)}>
      <rect x={0} y={0} width={WIDTH} height={HEIGHT} className="fill-muted/60" rx={4} />
      {limit && (
        <line x1={0} x2={WIDTH} y1={y(limit.value)} y2={y(limit.value)} className="stroke-danger/70" strokeDasharray="4 3" strokeWidth={1} vectorEffect="non-scaling-stroke">
          <title>{limit.label}</title>
        </line>
      )}
      {series.map((s) => {
        const points = s.values.map((v, i) => (v === null ? null : `${x(i, s.values.length).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
        if (points.length === 0) return null;
        const first = points[0]!.split(',')[0];
        const last = points.at(-1)!.split(',')[0];
        return (
          <g key={s.label} className={s.className}>
            {s.area && <polygon points={`${first},${HEIGHT} ${points.join(' ')} ${last},${HEIGHT}`} className="fill-current opacity-15" />}
            <polyline points={points.join(' ')} className="fill-none stroke-current" strokeWidth={1.5} vectorEffect="non-scaling-stroke" strokeLinejoin="round" />
          </g>
        );
      })}
    </svg>
  );
}
