/**
 * scikit-learn's `_gradient_descent` for t-SNE: momentum, per-coordinate gains (+0.2 where the
 * gradient's sign opposes the last update, x0.8 otherwise, floor 0.01), and its stopping rules,
 * checked every 50 iterations: gradient norm at most 1e-7, or no fall in the objective for more
 * than `iterationsWithoutProgress` iterations.
 */
import type { Objective } from './gradient.js';

export interface DescentStage {
  /** First iteration number of this stage (iterations are numbered across stages). */
  startIteration: number;
  /** Iteration number this stage stops before. */
  maxIter: number;
  momentum: number;
  learningRate: number;
  /** Factor on P (early exaggeration), 1 for the plain objective. */
  exaggeration: number;
  iterationsWithoutProgress: number;
  /**
   * Continue a stage from a checkpoint instead of starting it: the workspace's update and gains
   * are kept (not reset), and the progress so far is this.
   */
  resume?: DescentProgress;
}

/** The stopping rule's memory: the best objective seen so far and its iteration. */
export interface DescentProgress {
  bestError: number;
  bestIteration: number;
}

/** Buffers the descent reuses (each 2n long), so that no iteration allocates. */
export interface DescentWorkspace {
  gradient: Float64Array;
  update: Float64Array;
  gains: Float64Array;
}

export interface DescentOutcome {
  /** Number of the last iteration run (scikit-learn's `it`). */
  lastIteration: number;
  /** Objective at the last iteration where it was computed. */
  error: number;
}

const CHECK_EVERY = 50;
const MIN_GAIN = 0.01;
const MIN_GRADIENT_NORM = 1e-7;

export function newWorkspace(n: number): DescentWorkspace {
  return { gradient: new Float64Array(2 * n), update: new Float64Array(2 * n), gains: new Float64Array(2 * n) };
}

/**
 * Awaited at every check with the number of iterations done; `progress` is given when the stage
 * goes on (the state after this iteration can be resumed from), absent when it stops here.
 */
export type CheckHandler = (iterationsDone: number, progress?: DescentProgress) => void | Promise<void>;

/**
 * Runs one stage on `embedding` in place. As in scikit-learn, the update and gains restart (0
 * and 1) at each stage, unless the stage resumes from a checkpoint.
 */
export async function gradientDescent(
  objective: Objective,
  embedding: Float64Array,
  stage: DescentStage,
  workspace: DescentWorkspace,
  onCheck?: CheckHandler,
): Promise<DescentOutcome> {
  const { gradient, update, gains } = workspace;
  const { momentum, learningRate, exaggeration, maxIter } = stage;
  if (!stage.resume) {
    update.fill(0);
    gains.fill(1);
  }
  let error = Number.MAX_VALUE;
  let bestError = stage.resume?.bestError ?? Number.MAX_VALUE;
  let bestIteration = stage.resume?.bestIteration ?? stage.startIteration;
  // A stage resumed at its very end runs no iteration: its last one is the one before.
  let lastIteration = stage.startIteration - 1;
  for (let iteration = stage.startIteration; iteration < maxIter; iteration++) {
    lastIteration = iteration;
    const check = (iteration + 1) % CHECK_EVERY === 0;
    error = objective(embedding, gradient, exaggeration, check || iteration === maxIter - 1);

    let squaredNorm = 0;
    for (let t = 0; t < embedding.length; t++) {
      const g = gradient[t];
      const gain = update[t] * g < 0 ? gains[t] + 0.2 : gains[t] * 0.8;
      gains[t] = Math.max(gain, MIN_GAIN);
      const scaled = g * gains[t];
      squaredNorm += scaled * scaled;
      update[t] = momentum * update[t] - learningRate * scaled;
      embedding[t] += update[t];
    }

    if (check) {
      let stop = false;
      if (error < bestError) {
        bestError = error;
        bestIteration = iteration;
      } else if (iteration - bestIteration > stage.iterationsWithoutProgress) {
        stop = true;
      }
      if (Math.sqrt(squaredNorm) <= MIN_GRADIENT_NORM) stop = true;
      if (onCheck) await onCheck(iteration + 1, stop ? undefined : { bestError, bestIteration });
      if (stop) break;
    }
  }
  return { lastIteration, error };
}
