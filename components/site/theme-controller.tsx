'use client';

import { useEffect } from 'react';
import { useResolvedTheme } from './use-resolved-theme';

/** Keeps the `dark` class on <html> in step with the learner's choice and the system setting. */
export function ThemeController() {
  const theme = useResolvedTheme();
  useEffect(() => {
    document.documentElement.classList.toggle('dark', theme === 'dark');
  }, [theme]);
  return null;
}
