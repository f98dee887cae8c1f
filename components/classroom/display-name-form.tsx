'use client';

import { useId, useState, type FormEvent } from 'react';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { displayNameStore } from './use-display-name';

export interface DisplayNameFormProps {
  /** The name shown now, to start from. */
  current?: string;
  /** A suggestion shown as the placeholder (the generated name). */
  placeholder?: string;
  onSaved?(name: string): void;
  onCancel?(): void;
  cancelLabel?: string;
  autoFocus?: boolean;
  className?: string;
}

/** A name field with Save and a way out; it writes the display-name store. */
export function DisplayNameForm({ current, placeholder, onSaved, onCancel, cancelLabel = 'Cancel', autoFocus, className }: DisplayNameFormProps) {
  const id = useId();
  const [value, setValue] = useState(current ?? '');
  const [problem, setProblem] = useState<string>();

  const save = (event: FormEvent) => {
    event.preventDefault();
    const error = displayNameStore.choose(value);
    setProblem(error);
    if (!error) onSaved?.(value.trim());
  };

  return (
    <form onSubmit={save} className={cn('flex flex-wrap items-start gap-2', className)} noValidate>
      <label htmlFor={`${id}-name`} className="sr-only">
        Your name
      </label>
      <div className="min-w-44 flex-1">
        <input
          id={`${id}-name`}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          placeholder={placeholder ?? 'e.g. Ada'}
          maxLength={40}
          autoComplete="nickname"
          // Only where the learner just asked for the form (the header's "change"), never on page load.
          autoFocus={autoFocus}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${id}-problem` : undefined}
          className="h-9 w-full rounded-md border border-input bg-card px-3 text-sm shadow-xs placeholder:text-muted-foreground/80 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-ring"
        />
        {problem ? (
          <p id={`${id}-problem`} className="mt-1 text-xs text-danger">
            {problem}
          </p>
        ) : null}
      </div>
      <Button type="submit" variant="primary">
        Save name
      </Button>
      {onCancel ? (
        <Button variant="ghost" onClick={onCancel}>
          {cancelLabel}
        </Button>
      ) : null}
    </form>
  );
}
