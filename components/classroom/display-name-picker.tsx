'use client';

import { useEffect, useState } from 'react';
import { UsersIcon } from '../ui/icons';
import { displayNameStore, useDisplayName } from './use-display-name';
import { DisplayNameForm } from './display-name-form';

/**
 * On the course map, once: "learning with a class? pick the name your instructor sees". It is
 * optional; "Not now" keeps the friendly generated name and the question does not come back.
 * The header's name chip changes it later.
 */
export function DisplayNamePicker() {
  const names = useDisplayName();
  const [mounted, setMounted] = useState(false);
  const [saved, setSaved] = useState<string>();
  // Stored answers are only known in the browser; asking before that would flash the card.
  useEffect(() => setMounted(true), []);

  if (!mounted) return null;
  if (saved) {
    return (
      <p role="status" className="rounded-xl border border-success/30 bg-success-soft px-5 py-3 text-sm">
        Thanks! Your instructor will see you as <strong className="font-semibold">{saved}</strong>. You can change it from the top bar.
      </p>
    );
  }
  if (names.asked) return null;

  return (
    <section aria-labelledby="display-name-title" className="rounded-xl border bg-card p-5 shadow-xs" data-testid="display-name-picker">
      <div className="flex items-start gap-3">
        <span className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-accent-soft text-accent-soft-foreground">
          <UsersIcon className="size-4.5" />
        </span>
        <div className="min-w-0 flex-1">
          <h2 id="display-name-title" className="font-semibold tracking-tight">
            Learning with a class?
          </h2>
          <p className="mt-0.5 text-sm text-muted-foreground">
            Pick the name your instructor sees next to your progress. No account needed, and it is optional: without one you get a friendly
            name like <span className="font-mono text-foreground">{names.generated ?? 'swift-otter'}</span>.
          </p>
          <DisplayNameForm className="mt-3" onSaved={setSaved} onCancel={() => displayNameStore.skip()} cancelLabel="Not now" />
        </div>
      </div>
    </section>
  );
}
