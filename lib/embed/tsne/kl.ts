/**
 * The exact t-SNE objective KL(P || Q) of an embedding: the quality measure that DESIGN section 5
 * compares implementations by, whatever approximation their gradient used.
 */
import type { SparseAffinities } from './affinity.js';

/**
 * KL(P || Q) = sum over the stored entries of P of p_ij log(p_ij / q_ij), with
 * q_ij = w_ij / sum_{k != l} w_kl and w_ij = 1 / (1 + |y_i - y_j|^2) over all pairs of the
 * embedding (n x 2, row-major). q is floored at machine epsilon, as scikit-learn does.
 */
export function exactKlDivergence(affinities: SparseAffinities, embedding: Float64Array): number {
  const { n, indptr, indices, values } = affinities;
  let halfZ = 0;
  for (let i = 0; i < n; i++) {
    const xi = embedding[2 * i];
    const yi = embedding[2 * i + 1];
    for (let j = i + 1; j < n; j++) {
      const dx = xi - embedding[2 * j];
      const dy = yi - embedding[2 * j + 1];
      halfZ += 1 / (1 + dx * dx + dy * dy);
    }
  }
  const z = 2 * halfZ;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let t = indptr[i]; t < indptr[i + 1]; t++) {
      const j = indices[t];
      const p = values[t];
      if (p === 0) continue;
      const dx = embedding[2 * i] - embedding[2 * j];
      const dy = embedding[2 * i + 1] - embedding[2 * j + 1];
      const q = Math.max(1 / (1 + dx * dx + dy * dy) / z, Number.EPSILON);
      kl += p * Math.log(p / q);
    }
  }
  return kl;
}
