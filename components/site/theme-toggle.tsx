'use client';

import { setPreference, type ThemePreference } from '../preferences/preferences-store';
import { usePreferences } from '../preferences/use-preferences';
import { Button } from '../ui/button';
import { MonitorIcon, MoonIcon, SunIcon } from '../ui/icons';

const NEXT: Record<ThemePreference, ThemePreference> = { system: 'light', light: 'dark', dark: 'system' };
const LABEL: Record<ThemePreference, string> = { system: 'System theme', light: 'Light theme', dark: 'Dark theme' };

/** Cycles system → light → dark. The label says the current choice and what a click does. */
export function ThemeToggle() {
  const { theme } = usePreferences();
  const Icon = theme === 'dark' ? MoonIcon : theme === 'light' ? SunIcon : MonitorIcon;
  return (
    <Button
      variant="ghost"
      size="icon"
      onClick={() => setPreference('theme', NEXT[theme])}
      aria-label={`${LABEL[theme]} (switch to ${LABEL[NEXT[theme]].toLowerCase()})`}
      title={`${LABEL[theme]}: click for ${LABEL[NEXT[theme]].toLowerCase()}`}
    >
      <Icon />
    </Button>
  );
}
