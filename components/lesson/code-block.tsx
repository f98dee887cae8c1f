import type { CodeBlock as CodeBlockData } from '../../lib/lessons/parse-lesson';
import { cn } from '../ui/cn';
import { CodeActions } from './code-actions';

/**
 * A code block from a lesson. Runnable ones get Run and Copy (client leaves); the code itself is
 * rendered on the server. Shell blocks show a prompt mark so commands read as commands.
 */
export function CodeBlock({ block, lessonTerminals }: { block: CodeBlockData; lessonTerminals: 1 | 2 }) {
  const shell = ['sh', 'bash', 'shell', 'console'].includes(block.lang);
  const target = lessonTerminals === 2 ? `terminal ${block.terminal}` : undefined;
  return (
    <figure
      className={cn('not-prose group overflow-hidden rounded-lg border bg-code', block.runnable && 'border-accent/25 shadow-xs')}
      data-testid={block.runnable ? 'runnable-block' : 'code-block'}
    >
      <figcaption className="flex items-center gap-2 border-b bg-muted/50 py-1 pr-1.5 pl-3 text-xs text-muted-foreground">
        <span className="font-mono">{block.lang === 'text' ? 'output' : block.lang}</span>
        {block.runnable && target ? (
          <span className={cn('rounded px-1.5 py-0.5 font-medium', block.terminal === 2 ? 'bg-warning-soft text-warning' : 'bg-accent-soft text-accent-soft-foreground')}>
            {target}
          </span>
        ) : null}
        <CodeActions code={block.code} runnable={block.runnable} terminal={block.terminal} className="ml-auto" />
      </figcaption>
      <pre className="overflow-x-auto px-4 py-3 font-mono text-[0.84rem] leading-relaxed text-code-foreground">
        <code>
          {shell
            ? block.code.split('\n').map((line, index) => (
                <span key={index} className="block">
                  <span aria-hidden className="mr-2 text-muted-foreground select-none">
                    {line.trim() ? '$' : ' '}
                  </span>
                  {line}
                </span>
              ))
            : block.code}
        </code>
      </pre>
    </figure>
  );
}
