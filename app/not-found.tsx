import Link from 'next/link';
import { buttonVariants } from '@/components/ui/button';

export default function NotFound() {
  return (
    <main className="mx-auto flex max-w-xl flex-1 flex-col items-start justify-center gap-4 px-6 py-20">
      <p className="font-mono text-sm text-muted-foreground">404</p>
      <h1 className="text-3xl font-semibold tracking-tight">No such page</h1>
      <p className="text-muted-foreground">There is no lesson or page at this address. The course map lists every lesson.</p>
      <Link href="/" className={buttonVariants({ variant: 'primary' })}>
        Go to the course map
      </Link>
    </main>
  );
}
