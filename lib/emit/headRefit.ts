/**
 * The head refit: multinomial logistic regression with an L2 penalty, as scikit-learn's
 * LogisticRegression(C, solver='lbfgs') defines it for three or more classes: minimise
 * mean_i cross-entropy(softmax(W x_i + b), y_i) + ||W||^2 / (2 C n), the intercepts unpenalised,
 * one weight row per class (the symmetric parameterisation; for two classes this differs from
 * scikit-learn, which fits a single binary row). Solved by L-BFGS from zero, so it is
 * deterministic.
 */

import type { LinearClassifier } from '../onnx/head.js';
import { siblingModule, startThread } from '../threads.js';
import { type LbfgsOptions, minimizeLbfgs } from './lbfgs.js';

export interface LogisticOptions {
  /** Inverse penalty strength, scikit-learn's C. */
  C?: number;
  maxIterations?: number;
  gradientTolerance?: number;
  onIteration?: LbfgsOptions['onIteration'];
}

/** A fitted multinomial logistic regression: the classifier and how the solve went. */
export interface LogisticFit extends LinearClassifier {
  /** The objective at the solution (scikit-learn's, divided by n). */
  objective: number;
  iterations: number;
  converged: boolean;
}

function distinctSorted(labels: Int32Array): Int32Array {
  return Int32Array.from(new Set(labels)).sort();
}

/** Fits on features x ([rows, dim], row-major) and integer labels. */
export async function fitLogisticRegression(
  x: Float32Array | Float64Array,
  labels: Int32Array,
  dim: number,
  options: LogisticOptions = {},
): Promise<LogisticFit> {
  const rows = labels.length;
  if (rows === 0 || x.length !== rows * dim) {
    throw new RangeError(`head refit: ${x.length} feature values do not make ${rows} rows of ${dim}`);
  }
  const C = options.C ?? 1;
  if (!(C > 0)) throw new RangeError(`head refit: C must be positive, got ${C}`);
  const classes = distinctSorted(labels);
  const k = classes.length;
  if (k < 2) throw new RangeError(`head refit: the training labels hold one class (${classes[0]}); it needs at least two`);
  const target = Int32Array.from(labels, (label) => classes.indexOf(label));
  const penalty = 1 / (C * rows);
  const interceptOffset = k * dim;
  const scores = new Float64Array(k);

  // Parameters: k*dim weights, then k intercepts.
  const objective = (params: Float64Array, gradient: Float64Array): number => {
    gradient.fill(0);
    let loss = 0;
    for (let row = 0; row < rows; row++) {
      const offset = row * dim;
      let top = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        let z = params[interceptOffset + c];
        const w = c * dim;
        for (let j = 0; j < dim; j++) z += params[w + j] * x[offset + j];
        scores[c] = z;
        if (z > top) top = z;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) {
        scores[c] = Math.exp(scores[c] - top);
        sum += scores[c];
      }
      const truth = target[row];
      loss += Math.log(sum) + top - (Math.log(scores[truth]) + top);
      for (let c = 0; c < k; c++) {
        const residual = scores[c] / sum - (c === truth ? 1 : 0);
        gradient[interceptOffset + c] += residual;
        const w = c * dim;
        for (let j = 0; j < dim; j++) gradient[w + j] += residual * x[offset + j];
      }
    }
    let squares = 0;
    for (let i = 0; i < interceptOffset; i++) {
      squares += params[i] * params[i];
      gradient[i] = gradient[i] / rows + penalty * params[i];
    }
    for (let c = 0; c < k; c++) gradient[interceptOffset + c] /= rows;
    return loss / rows + (penalty * squares) / 2;
  };

  const minimum = await minimizeLbfgs(objective, new Float64Array(k * dim + k), {
    maxIterations: options.maxIterations ?? 2000,
    gradientTolerance: options.gradientTolerance ?? 1e-7,
    onIteration: options.onIteration,
  });
  return {
    classes,
    weights: minimum.x.slice(0, interceptOffset),
    intercepts: minimum.x.slice(interceptOffset),
    objective: minimum.value,
    iterations: minimum.iterations,
    converged: minimum.converged,
  };
}

/** What the refit's worker thread gets (the callback stays in the calling thread). */
export interface HeadRefitJob {
  x: Float32Array | Float64Array;
  labels: Int32Array;
  dim: number;
  options: Omit<LogisticOptions, 'onIteration'>;
}

export type HeadRefitMessage =
  | { kind: 'iteration'; iteration: number }
  | { kind: 'fit'; fit: LogisticFit }
  | { kind: 'error'; name: string; message: string };

/**
 * fitLogisticRegression on a worker thread, so that the calling thread's event loop stays free
 * (Temporal heartbeats) while a large head solves for minutes. The same fit, bit for bit: the same
 * code on the same values. `onIteration` hears each iteration, in order, before the fit settles.
 */
export function fitLogisticRegressionOffThread(
  x: Float32Array | Float64Array,
  labels: Int32Array,
  dim: number,
  options: Omit<LogisticOptions, 'onIteration'> & { onIteration?: (iteration: number) => void } = {},
): Promise<LogisticFit> {
  const { onIteration, ...rest } = options;
  const job: HeadRefitJob = { x, labels, dim, options: rest };
  const worker = startThread(siblingModule(import.meta.url, 'headRefitThread'), job as unknown as Record<string, unknown>);
  return new Promise<LogisticFit>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      settled = true;
      void worker.terminate();
      outcome();
    };
    worker.on('message', (message: HeadRefitMessage) => {
      if (message.kind === 'iteration') onIteration?.(message.iteration);
      else if (message.kind === 'fit') settle(() => resolve(message.fit));
      else settle(() => reject(message.name === 'RangeError' ? new RangeError(message.message) : new Error(message.message)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    // A thread that dies without a word (out of memory) must not leave the fit waiting forever.
    worker.on('exit', (code) => {
      if (!settled) settle(() => reject(new Error(`the head refit thread exited with code ${code} before its fit`)));
    });
  });
}
