// A worker thread does not inherit tsx's loader from `npm run load`'s main thread (Node 20), so
// each learner thread loads its TypeScript through tsx's API.
import { tsImport } from 'tsx/esm/api';

await tsImport('./learner-thread.ts', import.meta.url);
