/** Worker threads that run this project's modules (t-SNE, the head refit), as sources or compiled. */
import { Worker } from 'node:worker_threads';

/** Starts a worker thread running the module at `entry` (see siblingModule), with `data` as its workerData. */
export function startThread(entry: URL, data: Record<string, unknown> = {}): Worker {
  return new Worker(new URL('./thread.mjs', import.meta.url), { workerData: { ...data, entry: entry.href } });
}

/**
 * The module `name` in the folder of the module at `callerUrl` (its import.meta.url), with the
 * caller's extension: a TypeScript source beside a source, compiled JavaScript beside compiled.
 */
export function siblingModule(callerUrl: string, name: string): URL {
  const extension = /\.[cm]?[jt]s$/.exec(new URL(callerUrl).pathname)?.[0];
  if (!extension) throw new Error(`siblingModule: ${callerUrl} is not a JavaScript or TypeScript module`);
  return new URL(`./${name}${extension}`, callerUrl);
}
