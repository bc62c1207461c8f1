import { runWorkers } from './run.js';

/** Both roles in one process: the single-machine default. */
await runWorkers('all');
