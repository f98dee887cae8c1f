import type { ITheme } from '@xterm/xterm';

/**
 * Terminal palettes that match the page themes. Both keep ANSI colours readable on their
 * background; xterm's minimumContrastRatio (set in XtermHost) nudges any colour a program
 * picks that would still be too faint.
 */
export const TERMINAL_THEMES: Record<'light' | 'dark', ITheme> = {
  dark: {
    background: '#0a0e14',
    foreground: '#d7dee8',
    cursor: '#5ee6d4',
    cursorAccent: '#0a0e14',
    selectionBackground: '#2a4d5c',
    selectionForeground: '#ffffff',
    scrollbarSliderBackground: 'rgba(154, 166, 184, 0.22)',
    scrollbarSliderHoverBackground: 'rgba(154, 166, 184, 0.38)',
    scrollbarSliderActiveBackground: 'rgba(154, 166, 184, 0.5)',
    black: '#1c2430',
    red: '#ff7b72',
    green: '#7ee787',
    yellow: '#e3c26b',
    blue: '#79b8ff',
    magenta: '#d2a8ff',
    cyan: '#56d4dd',
    white: '#c9d1d9',
    brightBlack: '#6e7b8b',
    brightRed: '#ffa198',
    brightGreen: '#a5f0a9',
    brightYellow: '#f2d88a',
    brightBlue: '#a5cdff',
    brightMagenta: '#e2c5ff',
    brightCyan: '#8ae8ee',
    brightWhite: '#f0f6fc',
  },
  light: {
    background: '#fbfcfd',
    foreground: '#1f2733',
    cursor: '#0d6e66',
    cursorAccent: '#fbfcfd',
    selectionBackground: '#bfe5df',
    selectionForeground: '#0b1f1d',
    scrollbarSliderBackground: 'rgba(75, 85, 103, 0.16)',
    scrollbarSliderHoverBackground: 'rgba(75, 85, 103, 0.3)',
    scrollbarSliderActiveBackground: 'rgba(75, 85, 103, 0.42)',
    black: '#1f2733',
    red: '#b3261e',
    green: '#1d7a3a',
    yellow: '#8a5a00',
    blue: '#1f5fbf',
    magenta: '#8a3fb3',
    cyan: '#0b7285',
    white: '#5b6472',
    brightBlack: '#4b5563',
    brightRed: '#d13b2f',
    brightGreen: '#23884a',
    brightYellow: '#9c6a00',
    brightBlue: '#2f6fd6',
    brightMagenta: '#9d4fc7',
    brightCyan: '#0f8299',
    brightWhite: '#374151',
  },
};

/** Monospace fonts with good box-drawing glyphs, most likely installed first. */
export const TERMINAL_FONT_FAMILY = "'JetBrains Mono', 'Cascadia Mono', 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace";
