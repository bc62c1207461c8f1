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
 * Writes the attraction on point i, sum_j exaggeration p_ij w_ij (y_i - y_j) over its stored
 * entries, to out[2i], out[2i + 1]. Shared with Barnes-Hut.
 */
export function attractionAt(
  embedding: Float64Array,
  affinities: SparseAffinities,
  exaggeration: number,
  i: number,
  out: Float64Array,
): void {
  const { indptr, indices, values } = affinities;
  const xi = embedding[2 * i];
  const yi = embedding[2 * i + 1];
  let attractionX = 0;
  let attractionY = 0;
  for (let t = indptr[i]; t < indptr[i + 1]; t++) {
    const j = indices[t];
    const dx = xi - embedding[2 * j];
    const dy = yi - embedding[2 * j + 1];
    const w = 1 / (1 + dx * dx + dy * dy);
    const p = values[t] * exaggeration;
    attractionX += p * w * dx;
    attractionY += p * w * dy;
  }
  out[2 * i] = attractionX;
  out[2 * i + 1] = attractionY;
}

/**
 * Turns `gradient`, holding the unnormalised repulsion sum_j w_ij^2 (y_i - y_j), into the full
 * gradient given the normalisation Z and the attraction. Shared with Barnes-Hut.
 */
export function combineGradient(gradient: Float64Array, attraction: Float64Array, z: number): void {
  const repulsionScale = -GRADIENT_FACTOR / z;
  for (let t = 0; t < gradient.length; t++) gradient[t] = gradient[t] * repulsionScale + GRADIENT_FACTOR * attraction[t];
}

/** KL(exaggeration * P || w / Z), scikit-learn's progress measure (q floored at epsilon). */
export function exaggeratedKl(embedding: Float64Array, affinities: SparseAffinities, z: number, exaggeration: number): number {
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
