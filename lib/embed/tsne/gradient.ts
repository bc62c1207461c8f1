/**
 * The exact gradient of t-SNE's objective KL(P || Q) with a Student-t kernel (one degree of
 * freedom), in scikit-learn's convention:
 *   dC/dy_i = 4 * sum_j (p_ij - q_ij) w_ij (y_i - y_j),  w_ij = 1 / (1 + |y_i - y_j|^2),
 *   q_ij = w_ij / Z,  Z = sum_{k != l} w_kl.
 * (openTSNE, FIt-SNE and bhtsne leave the factor 4 out.) The pieces every objective shares:
 * exact.ts, barnesHut.ts and interpolation.ts differ in how they get the repulsion.
 */
import type { SparseAffinities } from './affinity.js';

/**
 * Fills `gradient` (n x 2) with the gradient of KL(exaggeration * P || Q) at `embedding`
 * (n x 2, row-major) and returns that KL divergence when `computeError` is set, else NaN.
 * The KL is scikit-learn's progress measure: with exaggeration it is not a true divergence.
 */
export type Objective = (embedding: Float64Array, gradient: Float64Array, exaggeration: number, computeError: boolean) => number;

/** scikit-learn's factor 2 (dof + 1) / dof with dof = 1. */
export const GRADIENT_FACTOR = 4;

/**
 * The end of every objective: fills `gradient` from the unnormalised repulsion sum_j w_ij^2
 * (y_i - y_j) and the attraction of each point, with Z the sum of the chunks' shares `zParts`
 * (added in chunk order), and returns KL(exaggeration * P || Q) when `computeError` is set.
 */
function assembleGradient(
  affinities: SparseAffinities,
  embedding: Float64Array,
  gradient: Float64Array,
  repulsion: Float64Array,
  attraction: Float64Array,
  zParts: Float64Array,
  exaggeration: number,
  computeError: boolean,
): number {
  let z = 0;
  for (let chunk = 0; chunk < zParts.length; chunk++) z += zParts[chunk];
  // Floored as scikit-learn does (Z is at least n (n - 1) / (1 + squared diameter) anyway).
  const normalisation = Math.max(z, Number.EPSILON);
  gradient.set(repulsion);
  combineGradient(gradient, attraction, normalisation);
  return computeError ? exaggeratedKl(embedding, affinities, normalisation, exaggeration) : Number.NaN;
}

/** Turns `gradient`, holding the unnormalised repulsion, into the full gradient given Z and the attraction. */
function combineGradient(gradient: Float64Array, attraction: Float64Array, z: number): void {
  const repulsionScale = -GRADIENT_FACTOR / z;
  for (let t = 0; t < gradient.length; t++) gradient[t] = gradient[t] * repulsionScale + GRADIENT_FACTOR * attraction[t];
}

/** KL(exaggeration * P || w / Z), scikit-learn's progress measure (q floored at epsilon). */
function exaggeratedKl(embedding: Float64Array, affinities: SparseAffinities, z: number, exaggeration: number): number {
  const { n, indptr, indices, values } = affinities;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let t = indptr[i]; t < indptr[i + 1]; t++) {
      const p = values[t] * exaggeration;
      if (!(p > 0)) continue;
      const j = indices[t];
      const dx = embedding[2 * i] - embedding[2 * j];
      const dy = embedding[2 * i + 1] - embedding[2 * j + 1];
      const w = 1 / (1 + dx * dx + dy * dy);
      kl += p * Math.log(p / Math.max(w / z, Number.EPSILON));
    }
  }
  return kl;
}

/** A gradient whose helpers (if any) must be released when the descent is over. */
export interface TeamObjective {
  objective: Objective;
  release(): void;
}

/** The first point of chunk `chunk` when n points are cut into `chunks` fixed chunks. */
export function chunkStart(chunk: number, n: number, chunks: number): number {
  return Math.floor((chunk * n) / chunks);
}

/** What a lockstep objective (exact.ts, barnesHut.ts, interpolation.ts) computes with its team. */
export interface LockstepGradient {
  /** Fills `repulsion`, `attraction` and `zParts` for `embedding`, in lockstep rounds. */
  compute(embedding: Float64Array, exaggeration: number): void;
  /** n x 2, per point: the unnormalised repulsion sum_j w_ij^2 (y_i - y_j). */
  repulsion: Float64Array;
  /** n x 2, per point: the attraction at the exaggeration. */
  attraction: Float64Array;
  /** Per chunk: its points' share of Z, added in chunk order. */
  zParts: Float64Array;
  /** Stops the helpers' rounds. */
  release(): void;
}

/** The objective (see `Objective`) that `gradient`'s rounds compute, assembled the same way for every method. */
export function lockstepObjective(affinities: SparseAffinities, gradient: LockstepGradient): TeamObjective {
  const objective: Objective = (embedding, out, exaggeration, computeError) => {
    gradient.compute(embedding, exaggeration);
    return assembleGradient(
      affinities,
      embedding,
      out,
      gradient.repulsion,
      gradient.attraction,
      gradient.zParts,
      exaggeration,
      computeError,
    );
  };
  return { objective, release: () => gradient.release() };
}
