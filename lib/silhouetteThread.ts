/** A helper thread of silhouetteScore (silhouette.ts): runs the blocks it claims of each job it is sent. */
import { parentPort } from 'node:worker_threads';
import { type DistanceSumsJob, sumClaimedBlocks } from './silhouetteKernel.js';

parentPort!.on('message', (job: DistanceSumsJob) => sumClaimedBlocks(job));
