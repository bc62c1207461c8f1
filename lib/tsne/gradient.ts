/**
 * The exact gradient of t-SNE's objective KL(P || Q) with a Student-t kernel (one degree of
 * freedom), in scikit-learn's convention:
 *   dC/dy_i = 4 * sum_j (p_ij - q_ij) w_ij (y_i - y_j),  w_ij = 1 / (1 + |y_i - y_j|^2),
 *   q_ij = w_ij / Z,  Z = sum_{k != l} w_kl.
 * (openTSNE, FIt-SNE and bhtsne leave the factor 4 out.) O(n^2) per call, no allocation.
 */
import type { SparseAffinities } from './affinity.js';

/**
 * Fills `gradient` (n x 2) with the gradient of KL(exaggeration * P || Q) at `embedding`
 * (n x 2, row-major) and returns that KL divergence when `computeError` is set, else NaN.
 * The KL is scikit-learn's progress measure: with exaggeration it is not a true divergence.
 */
export type Objective = (
  embedding: Float64Array,
  gradient: Float64Array,
  exaggeration: number,
  computeError: boolean,
) => number;

/** scikit-learn's factor 2 (dof + 1) / dof with dof = 1. */
export const GRADIENT_FACTOR = 4;

/** The exact O(n^2) objective for affinities `affinities`. */
export function exactObjective(affinities: SparseAffinities): Objective {
  const { n, indptr, indices, values } = affinities;
  return (embedding, gradient, exaggeration, computeError) => {
    // Repulsion: sum_j w_ij^2 (y_i - y_j), each pair visited once.
    gradient.fill(0);
    let z = 0;
    for (let i = 0; i < n; i++) {
      const xi = embedding[2 * i];
      const yi = embedding[2 * i + 1];
      let forceX = 0;
      let forceY = 0;
      for (let j = i + 1; j < n; j++) {
        const dx = xi - embedding[2 * j];
        const dy = yi - embedding[2 * j + 1];
        const w = 1 / (1 + dx * dx + dy * dy);
        z += w;
        const w2 = w * w;
        forceX += w2 * dx;
        forceY += w2 * dy;
        gradient[2 * j] -= w2 * dx;
        gradient[2 * j + 1] -= w2 * dy;
      }
      gradient[2 * i] += forceX;
      gradient[2 * i + 1] += forceY;
    }
    z *= 2;
    return finishGradient(embedding, gradient, indptr, indices, values, n, z, exaggeration, computeError);
  };
}

/**
 * Turns `gradient`, holding the unnormalised repulsion sum_j w_ij^2 (y_i - y_j), into the full
 * gradient given the normalisation Z, adding the attraction over the sparse P. Returns
 * KL(exaggeration * P || w / Z) when `computeError`, else NaN. Shared with Barnes-Hut.
 */
export function finishGradient(
  embedding: Float64Array,
  gradient: Float64Array,
  indptr: Int32Array,
  indices: Int32Array,
  values: Float64Array,
  n: number,
  z: number,
  exaggeration: number,
  computeError: boolean,
): number {
  const repulsionScale = -GRADIENT_FACTOR / z;
  let kl = 0;
  for (let i = 0; i < n; i++) {
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
      if (computeError && p > 0) kl += p * Math.log(p / Math.max(w / z, Number.EPSILON));
    }
    gradient[2 * i] = gradient[2 * i] * repulsionScale + GRADIENT_FACTOR * attractionX;
    gradient[2 * i + 1] = gradient[2 * i + 1] * repulsionScale + GRADIENT_FACTOR * attractionY;
  }
  return computeError ? kl : Number.NaN;
}
