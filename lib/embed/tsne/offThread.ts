/**
 * runTsne in a worker thread, so that the calling thread's event loop stays free (Temporal
 * heartbeats, a second layer's activity) while the run takes seconds to minutes. Same result,
 * bit for bit, as runTsne in the calling thread with the same options.
 */
import { availableParallelism } from 'node:os';
import { InputError } from '../../errors.js';
import { siblingModule, startThread } from '../../threads.js';
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
  | { kind: 'error'; inputFile?: string; name: string; message: string };

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
  const worker = startThread(siblingModule(import.meta.url, 'tsneThread'), job as unknown as Record<string, unknown>);
  let checkpointsHandled: Promise<void> = Promise.resolve();
  return new Promise<TsneResult>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      outcome();
    };
    const fail = (error: Error) => settle(() => reject(error));
    worker.on('error', fail);
    // A thread that ends without a word (process.exit, out of memory) must not leave the run waiting.
    worker.on('exit', (code) => fail(new TsneThreadError(`the t-SNE thread exited (code ${code}) before reporting a result`)));
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
    worker.on('message', (message: OffThreadMessage) => {
      if (message.kind === 'progress') onProgress?.(message.iteration);
      else if (message.kind === 'checkpoint') checkpointsHandled = checkpointsHandled.then(() => onCheckpoint?.(message.state));
      else {
        // The thread has answered: its exit from here on is the one settle() asks for.
        worker.removeAllListeners('exit');
        const outcome = () =>
          message.kind === 'result'
            ? resolve(message.result)
            : reject(message.inputFile !== undefined ? new InputError(message.inputFile, message.message) : reportedError(message));
        checkpointsHandled.then(() => settle(outcome), fail);
      }
    });
  });
}

/** The t-SNE thread died: a resource failure, retried (as every error but bad input is). */
export class TsneThreadError extends Error {
  override name = 'TsneThreadError';
}

/** The error the thread reported (its stack in the message), under its name: a HelperThreadError stays recognisable. */
function reportedError({ name, message }: { name: string; message: string }): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
