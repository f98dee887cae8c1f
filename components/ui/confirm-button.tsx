'use client';

import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Button, type ButtonProps } from './button';
import { cn } from './cn';

/** How long the question stays before it goes away by itself. */
const CONFIRM_MS = 8000;

export interface ConfirmButtonProps {
  /** What the first press shows. */
  children: ReactNode;
  /** The question asked before acting, e.g. "End all 12 sandboxes?". */
  question: ReactNode;
  confirmLabel: string;
  onConfirm(): Promise<unknown> | void;
  /** False acts on the first press (e.g. restarting a sandbox that already ended). */
  ask?: boolean;
  /** What a screen reader announces for the question and its buttons. */
  groupLabel?: string;
  size?: ButtonProps['size'];
  variant?: ButtonProps['variant'];
  className?: string;
  /** Accessible name of the first button, when its text is not enough (e.g. per learner). */
  'aria-label'?: string;
  title?: string;
  disabled?: boolean;
}

/**
 * A destructive action in two presses: the first asks, the second acts. The question goes
 * away by itself after a few seconds, or with Cancel or Escape, and focus comes back. The one
 * confirmation in the app: class controls, resetting a learner, restarting a sandbox, resetting
 * a lesson.
 */
export function ConfirmButton({
  children,
  question,
  confirmLabel,
  onConfirm,
  ask = true,
  groupLabel = 'Confirm',
  size = 'sm',
  variant = 'danger',
  className,
  title,
  disabled,
  ...props
}: ConfirmButtonProps) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const triggerRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!confirming) return;
    confirmRef.current?.focus();
    const timer = setTimeout(() => setConfirming(false), CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [confirming]);

  const cancel = () => {
    setConfirming(false);
    requestAnimationFrame(() => triggerRef.current?.focus());
  };

  const act = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  if (!confirming) {
    return (
      <span className={cn('inline-flex items-center gap-2', className)}>
        <Button ref={triggerRef} size={size} variant={variant} onClick={() => (ask ? setConfirming(true) : void act())} title={title} disabled={disabled} aria-label={props['aria-label']}>
          {children}
        </Button>
        {error ? (
          <span role="alert" className="text-xs text-danger">
            {error}
          </span>
        ) : null}
      </span>
    );
  }
  return (
    <span
      role="group"
      aria-label={groupLabel}
      className={cn('inline-flex flex-wrap items-center gap-2 text-sm', className)}
      onKeyDown={(event) => {
        if (event.key === 'Escape') cancel();
      }}
    >
      <span className="text-foreground">{question}</span>
      <Button
        ref={confirmRef}
        size={size}
        variant="danger"
        disabled={busy}
        className="border-danger bg-danger text-card hover:bg-danger/90"
        onClick={act}
      >
        {confirmLabel}
      </Button>
      <Button size={size} variant="ghost" onClick={cancel}>
        Cancel
      </Button>
    </span>
  );
}
