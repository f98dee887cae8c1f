import { PREFERENCES_STORAGE_KEY } from '../preferences/preferences-store';

export const DARK_QUERY = '(prefers-color-scheme: dark)';

/**
 * Runs before the first paint (app/layout.tsx), so a dark-theme learner never sees a white
 * flash. It repeats useResolvedTheme's rule in plain ES5 on purpose: it runs before any bundle.
 */
export const THEME_BOOT_SCRIPT = `(function(){try{var t=(JSON.parse(localStorage.getItem(${JSON.stringify(PREFERENCES_STORAGE_KEY)})||'{}')||{}).theme;var d=t==='dark'||(t!=='light'&&window.matchMedia(${JSON.stringify(DARK_QUERY)}).matches);document.documentElement.classList.toggle('dark',d);}catch(e){}})();`;
