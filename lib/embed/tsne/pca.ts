/**
 * t-SNE's PCA initialisation as scikit-learn computes it: the centred data projected on its top
 * two principal axes (each axis signed so that its largest-magnitude loading is positive, as
 * scikit-learn's `svd_flip(u_based_decision=False)`), then scaled so the first coordinate's
 * standard deviation is 1e-4.
 *
 * scikit-learn uses a (randomized or full) SVD; here the top eigenvectors of the smaller of the
 * covariance (d x d) and Gram (n x n) matrices come from a seeded subspace iteration with
 * Rayleigh-Ritz steps, run to convergence, which gives the same axes.
 *
 * The heavy loops (the means, that matrix, the iteration's products and the final projection) run
 * in a WebAssembly SIMD kernel (rowProductsKernel.ts) that takes every float64 sum in the same
 * order as the plain loops would, so the result is theirs bit for bit.
 */
import { SeededRandom } from './random.js';
import { FeatureKernel, type RowProductsJob, rowProductUnits, SymmetricProducts } from './rowProductsKernel.js';
import { awaitClaims, type ThreadTeam } from './team.js';

/** A helper's share of the PCA's row products: the blocks it claims (see workOnRowProducts). */
export type RowProductsRequest = { kind: 'rowProducts' } & RowProductsJob;

const INIT_STD = 1e-4;
/** A second coordinate with less spread than this times the first one's counts as missing. */
const DEGENERATE_RATIO = 1e-6;
const MAX_SUBSPACE_ITERATIONS = 3_000;
/** Converged when each Ritz pair's residual is below this, relative to the top eigenvalue. */
const RESIDUAL_TOLERANCE = 1e-11;
/** Block size; the axes converge at rate (lambda_(block+1) / lambda_2) per iteration. */
const MAX_BLOCK = 16;

/**
 * The initial embedding (n x 2, row-major) for `features` (n x d, row-major). `seed` starts the
 * subspace iteration (and the second coordinate, where the data has no second axis). The
 * covariance (or Gram) products are shared among `team`'s threads; the result does not depend on
 * their number.
 */
export async function pcaInitialization(
  features: Float32Array,
  n: number,
  d: number,
  seed: number,
  team?: ThreadTeam<RowProductsRequest>,
): Promise<Float64Array> {
  // The centred data, features[i * d + a] - mean[a] (float64), is never stored: each use
  // recomputes it (in the kernel, from its copy of the features).
  const kernel = new FeatureKernel(features, n, d);
  const mean = kernel.means();
  const axes = await principalAxes(features, mean, n, d, 2, seed, team, kernel);
  const embedding = kernel.project(mean, axes);

  const firstStd = columnStd(embedding, n, 0);
  // Identical points have no principal axis: leave them all at the origin rather than divide by 0.
  if (firstStd === 0) return embedding.fill(0);
  for (let t = 0; t < 2 * n; t++) embedding[t] = (embedding[t] / firstStd) * INIT_STD;
  if (columnStd(embedding, n, 1) < DEGENERATE_RATIO * INIT_STD) {
    // No second axis (d = 1, where scikit-learn's PCA refuses, or collinear points): a line would
    // stay a line, since the gradient has no component across it. Start the second coordinate
    // from scikit-learn's random initialisation instead: seeded N(0, 1e-4^2).
    const random = new SeededRandom(seed);
    for (let i = 0; i < n; i++) embedding[2 * i + 1] = INIT_STD * random.nextGaussian();
  }
  return embedding;
}

function columnStd(embedding: Float64Array, n: number, column: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += embedding[2 * i + column];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (embedding[2 * i + column] - mean) ** 2;
  return Math.sqrt(squares / n);
}

/**
 * The top `count` principal axes (count x d, row-major, unit length, svd_flip signs) of the
 * n x d `features` centred on `mean`; an axis the data lacks (rank too low) is zero.
 */
async function principalAxes(
  features: Float32Array,
  mean: Float64Array,
  n: number,
  d: number,
  count: number,
  seed: number,
  team: ThreadTeam<RowProductsRequest> | undefined,
  kernel: FeatureKernel,
): Promise<Float64Array> {
  // The small symmetric matrix: the Gram matrix (n x n) when n < d, else the covariance (d x d).
  const useGram = n < d;
  const m = useGram ? n : d;
  const gram = await rowProducts(features, mean, n, d, useGram, team, kernel);

  // With fewer than `count` dimensions (d = 1) the missing axes stay zero.
  const available = Math.min(count, m);
  const eigenvectors = topEigenvectors(gram, m, available, seed); // available x m
  const axes = new Float64Array(count * d);
  for (let c = 0; c < available; c++) {
    if (useGram) {
      // The axis is centred^T u, normalised (each entry summed in order of i).
      for (let i = 0; i < n; i++) {
        const weight = eigenvectors[c * m + i];
        for (let a = 0; a < d; a++) axes[c * d + a] += (features[i * d + a] - mean[a]) * weight;
      }
      let norm = 0;
      for (let a = 0; a < d; a++) norm += axes[c * d + a] * axes[c * d + a];
      norm = Math.sqrt(norm);
      for (let a = 0; a < d; a++) axes[c * d + a] = norm > 0 ? axes[c * d + a] / norm : 0;
    } else {
      for (let a = 0; a < d; a++) axes[c * d + a] = eigenvectors[c * m + a];
    }
    // svd_flip: the loading of largest magnitude (first one on ties) is positive.
    let largest = 0;
    for (let a = 1; a < d; a++) if (Math.abs(axes[c * d + a]) > Math.abs(axes[c * d + largest])) largest = a;
    if (axes[c * d + largest] < 0) for (let a = 0; a < d; a++) axes[c * d + a] = -axes[c * d + a];
  }
  return axes;
}

/**
 * The m x m products (m = n when `gram`, else d) of the features centred on `mean`: the Gram
 * matrix of the centred rows or their covariance (unnormalised), in blocks claimed by `team`'s
 * threads (each entry is computed by one thread, the same way whichever).
 */
async function rowProducts(
  features: Float32Array,
  mean: Float64Array,
  n: number,
  d: number,
  gram: boolean,
  team: ThreadTeam<RowProductsRequest> | undefined,
  kernel: FeatureKernel,
): Promise<Float64Array> {
  const helpers = (team?.size ?? 1) - 1;
  const m = gram ? n : d;
  const job: RowProductsJob = {
    features: helpers > 0 ? shareable(features, n * d) : features,
    mean,
    n,
    d,
    gram,
    products: helpers > 0 ? new Float64Array(new SharedArrayBuffer(8 * m * m)) : new Float64Array(m * m),
    counter: new Int32Array(new SharedArrayBuffer(8)),
  };
  // Helpers that start after the last block was claimed just return.
  team?.callEach({ kind: 'rowProducts', ...job });
  kernel.workOn(job);
  awaitClaims(job.counter, rowProductUnits(m), team);
  return job.products;
}

/** The first `length` values of `array`, on a SharedArrayBuffer (`array` itself where it is). */
function shareable(array: Float32Array, length: number): Float32Array {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = new Float32Array(new SharedArrayBuffer(4 * length));
  copy.set(array.subarray(0, length));
  return copy;
}

/**
 * The eigenvectors (count x m, row-major) of the `count` largest eigenvalues of the symmetric
 * positive semi-definite m x m matrix `s`, by subspace iteration with Rayleigh-Ritz.
 * Blocks of vectors are m x block, row-major, so that each product reads `s` once.
 */
function topEigenvectors(s: Float64Array, m: number, count: number, seed: number): Float64Array {
  const block = Math.min(m, Math.max(count, MAX_BLOCK));
  const random = new SeededRandom(seed);
  const basis = new Float64Array(m * block);
  for (let t = 0; t < basis.length; t++) basis[t] = random.nextGaussian();
  orthonormalize(basis, m, block);
  const image = new Float64Array(m * block);
  const ritzVectors = new Float64Array(m * block);
  const projected = new Float64Array(block * block);
  const rotation = new Float64Array(block * block);
  const ritzValues = new Float64Array(block);
  const products = new SymmetricProducts(s, m, block);

  for (let iteration = 0; ; iteration++) {
    products.multiply(basis, image); // image = s * basis
    // projected = basis^T * image, then its eigenvectors rotate the basis into Ritz vectors.
    projected.fill(0);
    for (let r = 0; r < m; r++) {
      for (let a = 0; a < block; a++) {
        const value = basis[r * block + a];
        for (let b = 0; b < block; b++) projected[a * block + b] += value * image[r * block + b];
      }
    }
    symmetrize(projected, block);
    symmetricEigen(projected, block, ritzValues, rotation);
    multiplyBlock(basis, m, block, rotation, ritzVectors);
    multiplyBlock(image, m, block, rotation, basis); // basis now holds s * ritzVectors

    let converged = true;
    const scale = Math.max(Math.abs(ritzValues[0]), Number.MIN_VALUE);
    for (let c = 0; c < count; c++) {
      let residual = 0;
      for (let r = 0; r < m; r++) residual += (basis[r * block + c] - ritzValues[c] * ritzVectors[r * block + c]) ** 2;
      if (Math.sqrt(residual) > RESIDUAL_TOLERANCE * scale) converged = false;
    }
    if (converged || iteration === MAX_SUBSPACE_ITERATIONS - 1) {
      const vectors = new Float64Array(count * m);
      for (let c = 0; c < count; c++) for (let r = 0; r < m; r++) vectors[c * m + r] = ritzVectors[r * block + c];
      return vectors;
    }
    orthonormalize(basis, m, block);
  }
}

/** Averages a nearly symmetric matrix with its transpose (rounding makes basis^T s basis drift). */
function symmetrize(matrix: Float64Array, size: number): void {
  for (let a = 0; a < size; a++) {
    for (let b = a + 1; b < size; b++) {
      const mean = (matrix[a * size + b] + matrix[b * size + a]) / 2;
      matrix[a * size + b] = mean;
      matrix[b * size + a] = mean;
    }
  }
}

/** out = vectors * rotation, for an m x block row-major block and a block x block rotation. */
function multiplyBlock(vectors: Float64Array, m: number, block: number, rotation: Float64Array, out: Float64Array): void {
  out.fill(0);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < block; j++) {
      const value = vectors[r * block + j];
      for (let c = 0; c < block; c++) out[r * block + c] += value * rotation[j * block + c];
    }
  }
}

/** Modified Gram-Schmidt on the columns of an m x block row-major block, in place. */
function orthonormalize(vectors: Float64Array, m: number, block: number): void {
  for (let j = 0; j < block; j++) {
    // A column that vanishes (rank-deficient matrix) is replaced by unit vectors until one is
    // independent of the others; it carries a zero eigenvalue, so never ranks above a real axis.
    for (let attempt = 0; ; attempt++) {
      for (let previous = 0; previous < j; previous++) {
        let dot = 0;
        for (let r = 0; r < m; r++) dot += vectors[r * block + previous] * vectors[r * block + j];
        for (let r = 0; r < m; r++) vectors[r * block + j] -= dot * vectors[r * block + previous];
      }
      let norm = 0;
      for (let r = 0; r < m; r++) norm += vectors[r * block + j] ** 2;
      norm = Math.sqrt(norm);
      if (norm > 0) {
        for (let r = 0; r < m; r++) vectors[r * block + j] /= norm;
        break;
      }
      vectors[(attempt % m) * block + j] = 1;
    }
  }
}

/**
 * Eigen-decomposition of the small symmetric b x b matrix `matrix` by cyclic Jacobi rotations:
 * `values` descending, `vectors[r * b + c]` row r of the eigenvector of values[c].
 */
function symmetricEigen(matrix: Float64Array, b: number, values: Float64Array, vectors: Float64Array): void {
  const a = Float64Array.from(matrix);
  vectors.fill(0);
  for (let i = 0; i < b; i++) vectors[i * b + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let p = 0; p < b; p++) {
      diagonal += a[p * b + p] ** 2;
      for (let q = p + 1; q < b; q++) off += a[p * b + q] ** 2;
    }
    if (off <= 1e-30 * diagonal || off === 0) break;
    for (let p = 0; p < b; p++) {
      for (let q = p + 1; q < b; q++) {
        const apq = a[p * b + q];
        if (apq === 0) continue;
        const theta = (a[q * b + q] - a[p * b + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cos = 1 / Math.sqrt(t * t + 1);
        const sin = t * cos;
        for (let r = 0; r < b; r++) {
          const arp = a[r * b + p];
          const arq = a[r * b + q];
          a[r * b + p] = cos * arp - sin * arq;
          a[r * b + q] = sin * arp + cos * arq;
        }
        for (let r = 0; r < b; r++) {
          const apr = a[p * b + r];
          const aqr = a[q * b + r];
          a[p * b + r] = cos * apr - sin * aqr;
          a[q * b + r] = sin * apr + cos * aqr;
        }
        for (let r = 0; r < b; r++) {
          const vrp = vectors[r * b + p];
          const vrq = vectors[r * b + q];
          vectors[r * b + p] = cos * vrp - sin * vrq;
          vectors[r * b + q] = sin * vrp + cos * vrq;
        }
      }
    }
  }
  // Sort eigenpairs by descending eigenvalue (selection sort: b is at most 8).
  for (let c = 0; c < b; c++) values[c] = a[c * b + c];
  for (let c = 0; c < b; c++) {
    let best = c;
    for (let other = c + 1; other < b; other++) if (values[other] > values[best]) best = other;
    if (best === c) continue;
    [values[c], values[best]] = [values[best], values[c]];
    for (let r = 0; r < b; r++) [vectors[r * b + c], vectors[r * b + best]] = [vectors[r * b + best], vectors[r * b + c]];
  }
}
