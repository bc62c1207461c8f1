// Entry of every worker thread (t-SNE, the head refit): lets them load the TypeScript modules (as
// bin/sls.mjs does for the CLI), then runs the module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
