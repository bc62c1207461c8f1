/**
 * runTsne in a worker thread, so that the calling thread's event loop stays free (Temporal
 * heartbeats, a second layer's activity) while the run takes seconds to minutes. Same result,
 * bit for bit, as runTsne in the calling thread with the same options.
 */
import { availableParallelism } from 'node:os';
import { InputError } from '../../errors.js';
import { startThread } from '../../threads.js';
import type { TsneOptions, TsneResult } from './index.js';
import type { TsneState } from './state.js';

/** What the worker thread gets (functions cannot cross threads: the callbacks stay here). */
export interface OffThreadJob {
  features: Float32Array;
  n: number;
  d: number;
  options: Omit<TsneOptions, 'onProgress' | 'onCheckpoint'>;
  checkpoints: boolean;
}

export type OffThreadMessage =
  | { kind: 'progress'; iteration: number }
  | { kind: 'checkpoint'; state: TsneState }
  | { kind: 'result'; result: TsneResult }
  | { kind: 'error'; inputFile?: string; message: string };

export interface OffThreadOptions extends TsneOptions {
  /** Stops the thread (and rejects with the signal's reason) when aborted, e.g. on cancellation. */
  signal?: AbortSignal;
}

/**
 * runTsne(features, n, d, options) on a worker thread; `threads` defaults to the machine's
 * available parallelism. Checkpoints are handed to `onCheckpoint` one at a time, in order, and
 * all are handled before the promise settles.
 */
export function runTsneOffThread(features: Float32Array, n: number, d: number, options: OffThreadOptions = {}): Promise<TsneResult> {
  const { onProgress, onCheckpoint, signal, ...rest } = options;
  signal?.throwIfAborted();
  const job: OffThreadJob = {
    features,
    n,
    d,
    options: { ...rest, threads: rest.threads ?? availableParallelism() },
    checkpoints: onCheckpoint !== undefined,
  };
  const worker = startThread(new URL('./tsneThread.ts', import.meta.url), job as unknown as Record<string, unknown>);
  let checkpointsHandled: Promise<void> = Promise.resolve();
  return new Promise<TsneResult>((resolve, reject) => {
    const fail = (error: Error) => {
      void worker.terminate();
      reject(error);
    };
    worker.on('error', fail);
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
    worker.on('message', (message: OffThreadMessage) => {
      if (message.kind === 'progress') onProgress?.(message.iteration);
      else if (message.kind === 'checkpoint') checkpointsHandled = checkpointsHandled.then(() => onCheckpoint?.(message.state));
      else {
        void worker.terminate();
        const settle = () =>
          message.kind === 'result'
            ? resolve(message.result)
            : reject(message.inputFile !== undefined ? new InputError(message.inputFile, message.message) : new Error(message.message));
        checkpointsHandled.then(settle, reject);
      }
    });
  });
}
