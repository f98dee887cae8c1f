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
  // The lesson loader reads Markdown from disk at build time; nothing else runs on the server.
  serverExternalPackages: ['gray-matter'],
};

export default nextConfig;
