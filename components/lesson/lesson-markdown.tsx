import Markdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';

/**
 * Renders a Markdown slice of a lesson on the server. Headings shift down a level, because the
 * page's h1 is the lesson title and each step is an h2.
 */
const components: Components = {
  h1: ({ node: _node, ...props }) => <h3 {...props} />,
  h2: ({ node: _node, ...props }) => <h3 {...props} />,
  h3: ({ node: _node, ...props }) => <h4 {...props} />,
  a: ({ node: _node, href = '', ...props }) => {
    const external = /^https?:\/\//.test(href);
    return <a href={href} {...props} {...(external ? { target: '_blank', rel: 'noopener noreferrer' } : {})} />;
  },
  // Diagrams are small SVGs that should simply be there, not lazily fetched late.
  img: ({ node: _node, alt = '', ...props }) => <img alt={alt} decoding="async" {...props} />,
  table: ({ node: _node, ...props }) => (
    <div className="overflow-x-auto">
      <table {...props} />
    </div>
  ),
};

export function LessonMarkdown({ markdown }: { markdown: string }) {
  return (
    <Markdown remarkPlugins={[remarkGfm]} components={components}>
      {markdown}
    </Markdown>
  );
}
