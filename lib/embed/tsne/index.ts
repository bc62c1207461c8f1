/**
 * t-SNE to two dimensions as scikit-learn's `TSNE` computes it with its defaults (DESIGN section
 * 5): kNN affinities at the given perplexity (exact kNN up to EXACT_NEIGHBORS_UP_TO points,
 * approximate above: neighbors.ts), PCA initialisation, 250 iterations with
 * early exaggeration and momentum 0.5, then momentum 0.8 up to `maxIter`, learning rate 'auto'.
 */
import { InputError } from '../../errors.js';
import { jointProbabilities, type SparseAffinities } from './affinity.js';
import { barnesHutObjective } from './barnesHut.js';
import { exactObjective } from './exact.js';
import type { TeamObjective } from './gradient.js';
import { cheaperObjective } from './gradientChoice.js';
import { type TsneGradient, validateTsneGradient } from './gradients.js';
import { interpolationObjective } from './interpolation.js';
import { exactKlDivergence } from './kl.js';
import { nearestNeighbors } from './neighbors.js';
import { type CheckHandler, type DescentStage, gradientDescent, newWorkspace } from './optimizer.js';
import { pcaInitialization } from './pca.js';
import type { TsneState } from './state.js';
import type { ThreadTeam } from './team.js';
import { startTsneTeam, type TsneRequest } from './tsneTeam.js';

export interface TsneOptions {
  /** Default 30. Must be positive and less than the number of samples (scikit-learn's rule). */
  perplexity?: number;
  /** Factor on P for the first 250 iterations; default 12, at least 1. */
  earlyExaggeration?: number;
  /** Total iterations, default 1000, at least 250 (scikit-learn's bounds). */
  maxIter?: number;
  /**
   * Seed of the PCA's random start (and of the second initial coordinate where the data has no
   * second axis); same seed, bit-identical output. Default 0.
   */
  seed?: number;
  /** Called every 50 iterations with the number done; keep it cheap (heartbeats). */
  onProgress?: (iteration: number) => void;
  /** Name of the input, for error messages. */
  source?: string;
  /** The gradient (gradients.ts); default 'auto'. */
  method?: TsneGradient;
  /**
   * Threads that share the kNN search, the PCA's products and every gradient (the caller's and
   * helpers'); default 1 (runTsneOffThread: the available parallelism). The result is
   * bit-identical whatever the number. A helper that dies fails the run with a HelperThreadError.
   */
  threads?: number;
  /** A state saved by `onCheckpoint` of a run on the same input and options: go on from there. */
  resumeFrom?: TsneState;
  /** Called with the optimiser's state every `checkpointEvery` iterations (a copy: keep it). */
  onCheckpoint?: (state: TsneState) => void | Promise<void>;
  /** Iterations between checkpoints, a multiple of 50; default 100. */
  checkpointEvery?: number;
}

export interface TsneResult {
  /** n x 2, row-major: x0, y0, x1, y1, ... */
  embedding: Float64Array;
  /** Exact KL(P || Q) of the final embedding. */
  klDivergence: number;
  /** Iterations run (1000 unless a stopping rule fired). */
  iterations: number;
}

/**
 * Sample count from which 'auto' uses an approximate gradient rather than the exact one: where
 * Barnes-Hut became the faster whole run (wall seconds, 2 threads, bench/tsne.ts's 768-D clustered
 * data, quiet machine: n = 1500 exact 1.65, Barnes-Hut 1.76; 2000: 2.57 vs 2.46).
 */
export const BARNES_HUT_FROM = 2000;
/** scikit-learn's default perplexity. */
export const DEFAULT_PERPLEXITY = 30;
/** Iterations with early exaggeration and momentum 0.5 (scikit-learn's _EXPLORATION_MAX_ITER). */
const EXPLORATION_ITERATIONS = 250;
const EXPLORATION_MOMENTUM = 0.5;
const FINAL_MOMENTUM = 0.8;
/** scikit-learn's n_iter_without_progress default, for the stage after exaggeration. */
const ITERATIONS_WITHOUT_PROGRESS = 300;

/** The gradient of `method` (gradients.ts) for `affinities`, split over `team`. */
export function gradientObjective(
  method: TsneGradient,
  affinities: SparseAffinities,
  team: ThreadTeam<TsneRequest> | undefined,
): TeamObjective {
  if (method === 'fft') return interpolationObjective(affinities, team);
  if (method === 'barnes_hut') return barnesHutObjective(affinities, team);
  if (method === 'exact' || affinities.n < BARNES_HUT_FROM) return exactObjective(affinities, team);
  return cheaperObjective(affinities, team);
}

/** Embeds the n rows of `features` (n x d, row-major float32) in two dimensions. */
export async function runTsne(features: Float32Array, n: number, d: number, options: TsneOptions = {}): Promise<TsneResult> {
  const source = options.source ?? 'features';
  const perplexity = options.perplexity ?? DEFAULT_PERPLEXITY;
  const earlyExaggeration = options.earlyExaggeration ?? 12;
  const maxIter = options.maxIter ?? 1000;
  const seed = options.seed ?? 0;
  const method = options.method ?? 'auto';
  validate(features, n, d, perplexity, earlyExaggeration, maxIter, method, source);

  const checkpointEvery = options.checkpointEvery ?? 100;
  if (!(Number.isInteger(checkpointEvery / 50) && checkpointEvery > 0)) {
    throw new RangeError(`checkpointEvery must be a positive multiple of 50, got ${checkpointEvery}`);
  }
  const resume = options.resumeFrom;
  if (resume && resume.embedding.length !== 2 * n)
    throw new RangeError(`the saved state is for ${resume.embedding.length / 2} samples, not ${n}`);

  const team = (options.threads ?? 1) > 1 ? startTsneTeam(options.threads ?? 1) : undefined;
  let gradient: TeamObjective | undefined;
  try {
    const k = Math.min(n - 1, Math.floor(3 * perplexity + 1));
    const affinities = jointProbabilities(await nearestNeighbors(features, n, d, k, team, { seed }), n, perplexity);
    const embedding = resume ? Float64Array.from(resume.embedding) : await pcaInitialization(features, n, d, seed, team);
    gradient = gradientObjective(method, affinities, team);
    const learningRate = Math.max(n / earlyExaggeration / 4, 50);
    const workspace = newWorkspace(n);
    if (resume) {
      workspace.update.set(resume.update);
      workspace.gains.set(resume.gains);
    }
    const onCheck =
      (stage: 0 | 1): CheckHandler =>
      async (iteration, progress) => {
        options.onProgress?.(iteration);
        if (progress && options.onCheckpoint && iteration % checkpointEvery === 0) {
          await options.onCheckpoint({
            stage,
            iteration,
            ...progress,
            embedding: embedding.slice(),
            update: workspace.update.slice(),
            gains: workspace.gains.slice(),
          });
        }
        // Let the event loop run (heartbeats, cancellation) between blocks of iterations.
        await new Promise<void>((resolve) => setImmediate(resolve));
      };
    const resumed = (stage: 0 | 1): Pick<DescentStage, 'startIteration' | 'resume'> | undefined =>
      resume?.stage === stage
        ? { startIteration: resume.iteration, resume: { bestError: resume.bestError, bestIteration: resume.bestIteration } }
        : undefined;

    let finalStart = resumed(1)?.startIteration;
    if (finalStart === undefined) {
      const exploration = await gradientDescent(
        gradient.objective,
        embedding,
        {
          startIteration: 0,
          maxIter: EXPLORATION_ITERATIONS,
          momentum: EXPLORATION_MOMENTUM,
          learningRate,
          exaggeration: earlyExaggeration,
          iterationsWithoutProgress: EXPLORATION_ITERATIONS,
          ...resumed(0),
        },
        workspace,
        onCheck(0),
      );
      finalStart = exploration.lastIteration + 1;
    }
    const final = await gradientDescent(
      gradient.objective,
      embedding,
      {
        startIteration: finalStart,
        maxIter,
        momentum: FINAL_MOMENTUM,
        learningRate,
        exaggeration: 1,
        iterationsWithoutProgress: ITERATIONS_WITHOUT_PROGRESS,
        ...resumed(1),
      },
      workspace,
      onCheck(1),
    );

    return {
      embedding,
      klDivergence: exactKlDivergence(affinities, embedding),
      iterations: final.lastIteration + 1,
    };
  } finally {
    gradient?.release();
    await team?.close();
  }
}

function validate(
  features: Float32Array,
  n: number,
  d: number,
  perplexity: number,
  earlyExaggeration: number,
  maxIter: number,
  method: TsneGradient,
  source: string,
): void {
  if (!Number.isInteger(d) || d < 1) throw new InputError(source, `feature dimension must be a positive integer, got ${d}`);
  if (!Number.isInteger(n) || n < 2) throw new InputError(source, `t-SNE needs at least 2 samples, got ${n}`);
  if (features.length !== n * d) {
    throw new InputError(source, `${features.length} values do not make ${n} samples of dimension ${d}`);
  }
  if (!(perplexity > 0) || perplexity >= n) {
    throw new InputError(source, `perplexity (${perplexity}) must be positive and less than the number of samples (${n})`);
  }
  if (!(earlyExaggeration >= 1)) throw new InputError(source, `early exaggeration must be at least 1, got ${earlyExaggeration}`);
  try {
    validateTsneGradient(method);
  } catch (error) {
    throw new InputError(source, (error as Error).message);
  }
  if (!Number.isInteger(maxIter) || maxIter < EXPLORATION_ITERATIONS) {
    throw new InputError(source, `maxIter must be an integer of at least ${EXPLORATION_ITERATIONS}, got ${maxIter}`);
  }
  for (let t = 0; t < features.length; t++) {
    if (!Number.isFinite(features[t])) {
      throw new InputError(source, `feature ${t % d} of sample ${Math.floor(t / d)} is ${features[t]}`);
    }
  }
}
