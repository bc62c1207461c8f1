/** The worker thread of runTsneOffThread (offThread.ts): one t-SNE run, reported by message. */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../../errors.js';
import { runTsne } from './index.js';
import type { OffThreadJob, OffThreadMessage } from './offThread.js';

const port = parentPort!;
const post = (message: OffThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const { features, n, d, options, checkpoints } = workerData as OffThreadJob;
try {
  const result = await runTsne(features, n, d, {
    ...options,
    onProgress: (iteration) => post({ kind: 'progress', iteration }),
    onCheckpoint: checkpoints ? (state) => post({ kind: 'checkpoint', state }) : undefined,
  });
  post({ kind: 'result', result }, [result.embedding.buffer as ArrayBuffer]);
} catch (error) {
  const inputFile = error instanceof InputError ? error.file : undefined;
  const message = error instanceof InputError ? error.message.slice(error.file.length + 2) : String((error as Error)?.stack ?? error);
  post({ kind: 'error', inputFile, name: (error as Error)?.name ?? 'Error', message });
}
