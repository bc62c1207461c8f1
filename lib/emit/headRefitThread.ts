/** The worker thread of fitLogisticRegressionOffThread (headRefit.ts): one fit, reported by message. */
import { parentPort, workerData } from 'node:worker_threads';
import { fitLogisticRegression, type HeadRefitJob, type HeadRefitMessage } from './headRefit.js';

const port = parentPort!;
const post = (message: HeadRefitMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const { x, labels, dim, options } = workerData as HeadRefitJob;
try {
  const fit = await fitLogisticRegression(x, labels, dim, {
    ...options,
    onIteration: (iteration) => post({ kind: 'iteration', iteration }),
  });
  post({ kind: 'fit', fit }, [fit.weights.buffer as ArrayBuffer, fit.intercepts.buffer as ArrayBuffer]);
} catch (error) {
  post({ kind: 'error', name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) });
}
