/**
 * t-SNE's input affinities P, as scikit-learn computes them for its Barnes-Hut method: a
 * Gaussian per point over its k nearest neighbours, with the bandwidth found by binary search to
 * match the perplexity, then symmetrised (P + P^T) and normalised to sum 1.
 */
import type { Neighbors } from './neighborHeap.js';

/** A sparse symmetric matrix in CSR form: row i's entries are [indptr[i], indptr[i + 1]). */
export interface SparseAffinities {
  n: number;
  indptr: Int32Array;
  /** Column of each entry, ascending within a row. */
  indices: Int32Array;
  values: Float64Array;
}

const MAX_SEARCH_STEPS = 100;
// scikit-learn declares these two as C floats, so they compare as their float32 roundings.
const ENTROPY_TOLERANCE = Math.fround(1e-5);
const TINY_ROW_SUM = Math.fround(1e-8);

/**
 * Conditional probabilities p(j | i) over each point's neighbours (n x k, same layout as
 * `neighbors`), exactly as scikit-learn's `_binary_search_perplexity`: squared distances rounded
 * to float32, precision beta found by bisection (doubling / halving until bracketed) until the
 * natural-log entropy is within 1e-5 of log(perplexity), at most 100 steps.
 */
export function conditionalProbabilities(neighbors: Neighbors, n: number, perplexity: number): Float64Array {
  const { k } = neighbors;
  const sqDistances = Float32Array.from(neighbors.sqDistances);
  const conditional = new Float64Array(n * k);
  const desiredEntropy = Math.log(Math.fround(perplexity));

  for (let i = 0; i < n; i++) {
    const base = i * k;
    let beta = 1;
    let betaMin = Number.NEGATIVE_INFINITY;
    let betaMax = Number.POSITIVE_INFINITY;
    for (let step = 0; step < MAX_SEARCH_STEPS; step++) {
      let rowSum = 0;
      for (let r = 0; r < k; r++) {
        const p = Math.exp(-sqDistances[base + r] * beta);
        conditional[base + r] = p;
        rowSum += p;
      }
      if (rowSum === 0) rowSum = TINY_ROW_SUM;
      let weightedDistance = 0;
      for (let r = 0; r < k; r++) {
        conditional[base + r] /= rowSum;
        weightedDistance += sqDistances[base + r] * conditional[base + r];
      }
      const entropyDiff = Math.log(rowSum) + beta * weightedDistance - desiredEntropy;
      if (Math.abs(entropyDiff) <= ENTROPY_TOLERANCE) break;
      if (entropyDiff > 0) {
        betaMin = beta;
        beta = betaMax === Number.POSITIVE_INFINITY ? beta * 2 : (beta + betaMax) / 2;
      } else {
        betaMax = beta;
        beta = betaMin === Number.NEGATIVE_INFINITY ? beta / 2 : (beta + betaMin) / 2;
      }
    }
  }
  return conditional;
}

/** The joint P = (C + C^T) / sum of the conditional probabilities C over kNN graph `neighbors`. */
export function jointProbabilities(neighbors: Neighbors, n: number, perplexity: number): SparseAffinities {
  const { k, indices: neighborOf } = neighbors;
  const conditional = conditionalProbabilities(neighbors, n, perplexity);

  // The transpose of the kNN graph: for each point j, the points i that have j as a neighbour.
  const inPtr = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) inPtr[neighborOf[e] + 1]++;
  for (let j = 0; j < n; j++) inPtr[j + 1] += inPtr[j];
  const inFill = inPtr.slice(0, n);
  const inEntry = new Int32Array(n * k); // entry e = i * k + r of the kNN graph
  for (let e = 0; e < n * k; e++) inEntry[inFill[neighborOf[e]]++] = e;

  const indptr = new Int32Array(n + 1);
  const indices = new Int32Array(2 * n * k);
  const values = new Float64Array(2 * n * k);
  const accumulated = new Float64Array(n); // dense scratch row, zero between rows
  const lastRowSeen = new Int32Array(n).fill(-1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const rowStart = count;
    for (let r = 0; r < k; r++) {
      const j = neighborOf[i * k + r];
      if (lastRowSeen[j] !== i) {
        lastRowSeen[j] = i;
        indices[count++] = j;
      }
      accumulated[j] += conditional[i * k + r];
    }
    for (let t = inPtr[i]; t < inPtr[i + 1]; t++) {
      const e = inEntry[t];
      const j = (e / k) | 0;
      if (lastRowSeen[j] !== i) {
        lastRowSeen[j] = i;
        indices[count++] = j;
      }
      accumulated[j] += conditional[e];
    }
    indices.subarray(rowStart, count).sort();
    for (let t = rowStart; t < count; t++) {
      values[t] = accumulated[indices[t]];
      accumulated[indices[t]] = 0;
    }
    indptr[i + 1] = count;
  }

  let total = 0;
  for (let t = 0; t < count; t++) total += values[t];
  const divisor = Math.max(total, Number.EPSILON);
  for (let t = 0; t < count; t++) values[t] /= divisor;
  return { n, indptr, indices: indices.slice(0, count), values: values.slice(0, count) };
}
