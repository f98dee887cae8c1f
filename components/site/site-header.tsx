import Link from 'next/link';
import { DisplayNameChip } from '../classroom/display-name-chip';
import { cn } from '../ui/cn';
import { NavLink } from './nav-link';
import { ThemeToggle } from './theme-toggle';

/** The bar on every page: the name, the two course views, and the theme switch. */
export function SiteHeader({ className }: { className?: string }) {
  return (
    <header data-print="hide" className={cn('sticky top-0 z-30 border-b bg-card/85 backdrop-blur supports-[backdrop-filter]:bg-card/70', className)}>
      <div className="flex h-14 items-center gap-6 px-4 sm:px-6">
        <Link href="/" className="flex items-center gap-2 rounded-md font-semibold tracking-tight">
          <LogoMark />
          <span className="text-[1.05rem]">Isolab</span>
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1 text-sm">
          <NavLink href="/">Course</NavLink>
          <NavLink href="/agenda">Agenda</NavLink>
        </nav>
        <div className="ml-auto flex items-center gap-1">
          <DisplayNameChip />
          <ThemeToggle />
        </div>
      </div>
    </header>
  );
}

/** Nested boxes: a process inside namespaces inside a host. */
export function LogoMark({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true" className={cn('size-7', className)}>
      <rect x="1.5" y="1.5" width="29" height="29" rx="7" className="fill-accent" />
      <rect x="7" y="7" width="18" height="18" rx="4" fill="none" strokeWidth="2.2" className="stroke-accent-foreground/55" />
      <rect x="11.5" y="11.5" width="9" height="9" rx="2" className="fill-accent-foreground" />
    </svg>
  );
}
