import type { ComponentProps } from 'react';
import { cn } from './cn';

export interface ProgressBarProps extends ComponentProps<'div'> {
  value: number;
  max: number;
  label: string;
}

/** A thin bar with the right ARIA so screen readers announce "3 of 5". */
export function ProgressBar({ value, max, label, className, ...props }: ProgressBarProps) {
  const percent = max > 0 ? Math.round((value / max) * 100) : 0;
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={value}
      aria-valuetext={`${value} of ${max}`}
      className={cn('h-1.5 w-full overflow-hidden rounded-full bg-foreground/10', className)}
      {...props}
    >
      <div
        className={cn('h-full rounded-full transition-[width] duration-500', percent === 100 ? 'bg-success' : 'bg-accent')}
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}
