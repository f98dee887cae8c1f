'use client';

import { Button } from './button';

export interface CodeFormProps {
  /** The field's label, e.g. "Class code". */
  label: string;
  name: string;
  code: string;
  onCodeChange(code: string): void;
  onSubmit(code: string): void;
  busy: boolean;
  error?: string;
  /** The error's test id, so browser tests can find it. */
  errorTestId: string;
  submitLabel: string;
  maxLength: number;
  placeholder?: string;
}

/** A form for one short code a learner types (a class code, a resume code): one field, its error, one button. */
export function CodeForm({ label, name, code, onCodeChange, onSubmit, busy, error, errorTestId, submitLabel, maxLength, placeholder }: CodeFormProps) {
  return (
    <form
      className="flex w-full flex-col gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        if (code.trim()) onSubmit(code);
      }}
    >
      <label className="flex flex-col gap-1.5 text-sm font-medium">
        {label}
        <input
          name={name}
          value={code}
          onChange={(event) => onCodeChange(event.target.value)}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          autoFocus
          maxLength={maxLength}
          placeholder={placeholder}
          className="h-11 rounded-md border bg-card px-3 font-mono text-lg tracking-widest uppercase"
        />
      </label>
      {error ? (
        <p role="alert" className="text-sm text-danger" data-testid={errorTestId}>
          {error}
        </p>
      ) : null}
      <Button type="submit" variant="primary" disabled={busy || !code.trim()}>
        {busy ? 'Checking…' : submitLabel}
      </Button>
    </form>
  );
}
