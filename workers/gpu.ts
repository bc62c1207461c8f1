import { runWorkers } from './run.js';

await runWorkers('gpu');
