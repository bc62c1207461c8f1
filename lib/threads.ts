/** Worker threads that run this project's TypeScript modules (t-SNE, the head refit). */
import { Worker } from 'node:worker_threads';

/** Starts a worker thread running the TypeScript module at `entry`, with `data` as its workerData. */
export function startThread(entry: URL, data: Record<string, unknown> = {}): Worker {
  return new Worker(new URL('./thread.mjs', import.meta.url), { workerData: { ...data, entry: entry.href } });
}
