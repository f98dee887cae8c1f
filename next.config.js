/**
 * Next.js configuration for the web app (the learner's half of Isolab).
 *
 * `ISOLAB_NEXT_DIST` lets the browser tests build into their own directory, so that `npm run
 * test:e2e` never replaces the build a developer is serving with `npm start`.
 *
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  distDir: process.env.ISOLAB_NEXT_DIST || '.next',
  reactStrictMode: true,
  poweredByHeader: false,
  // gray-matter (the lesson frontmatter parser) requires optional engines dynamically; Node loads it as is.
  serverExternalPackages: ['gray-matter'],
};

export default nextConfig;
