import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { SiteHeader } from '@/components/site/site-header';
import { ThemeController } from '@/components/site/theme-controller';
import { THEME_BOOT_SCRIPT } from '@/components/site/theme-script';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Isolab: Linux containers, hands-on', template: '%s · Isolab' },
  description: 'An interactive lab for Linux containers: namespaces, cgroups and Docker, with a real sandboxed terminal beside every lesson.',
};

export const viewport: Viewport = {
  themeColor: [
    { media: '(prefers-color-scheme: light)', color: '#f6f7f9' },
    { media: '(prefers-color-scheme: dark)', color: '#0b1018' },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // The theme script sets the `dark` class before React hydrates, hence the warning suppression.
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* A plain inline script runs while the HTML is parsed, before the first paint. */}
        <script dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
      </head>
      <body className="flex min-h-dvh flex-col">
        <a
          href="#main"
          className="sr-only z-50 rounded-md bg-accent px-3 py-2 text-accent-foreground focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
        >
          Skip to content
        </a>
        <ThemeController />
        <SiteHeader />
        <div id="main" className="flex min-h-0 flex-1 flex-col">
          {children}
        </div>
      </body>
    </html>
  );
}
