// Entry of every worker thread (t-SNE, the head refit): runs the module named in workerData.entry,
// through tsx (as bin/sls.mjs does for the CLI) when it is a TypeScript source, directly when it
// is compiled JavaScript (dist/js).
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
