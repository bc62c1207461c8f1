/**
 * t-SNE's PCA initialisation as scikit-learn computes it: the centred data projected on its top
 * two principal axes (each axis signed so that its largest-magnitude loading is positive, as
 * scikit-learn's `svd_flip(u_based_decision=False)`), then scaled so the first coordinate's
 * standard deviation is 1e-4.
 *
 * scikit-learn uses a (randomized or full) SVD; here the top eigenvectors of the smaller of the
 * covariance (d x d) and Gram (n x n) matrices come from a seeded subspace iteration with
 * Rayleigh-Ritz steps, run to convergence, which gives the same axes.
 */
import { SeededRandom } from './random.js';

const INIT_STD = 1e-4;
const MAX_SUBSPACE_ITERATIONS = 3_000;
/** Converged when each Ritz pair's residual is below this, relative to the top eigenvalue. */
const RESIDUAL_TOLERANCE = 1e-11;
/** Block size; the axes converge at rate (lambda_(block+1) / lambda_2) per iteration. */
const MAX_BLOCK = 8;

/** The initial embedding (n x 2, row-major) for `features` (n x d, row-major). */
export function pcaInitialization(features: Float32Array, n: number, d: number, seed: number): Float64Array {
  const centred = new Float64Array(n * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a];
  for (let a = 0; a < d; a++) mean[a] /= n;
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) centred[i * d + a] = features[i * d + a] - mean[a];

  const axes = principalAxes(centred, n, d, 2, seed);
  const embedding = new Float64Array(2 * n);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < n; i++) {
      let score = 0;
      for (let a = 0; a < d; a++) score += centred[i * d + a] * axes[c * d + a];
      embedding[2 * i + c] = score;
    }
  }

  let sum = 0;
  for (let i = 0; i < n; i++) sum += embedding[2 * i];
  const firstMean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (embedding[2 * i] - firstMean) ** 2;
  const firstStd = Math.sqrt(squares / n);
  // Identical points have no principal axis: leave them all at the origin rather than divide by 0.
  if (firstStd === 0) embedding.fill(0);
  else for (let t = 0; t < 2 * n; t++) embedding[t] = (embedding[t] / firstStd) * INIT_STD;
  return embedding;
}

/**
 * The top `count` principal axes (count x d, row-major, unit length, svd_flip signs) of the
 * centred n x d matrix.
 */
function principalAxes(centred: Float64Array, n: number, d: number, count: number, seed: number): Float64Array {
  const useGram = n < d;
  // Rows of `factor` (m x length) give the small symmetric matrix S = factor factor^T.
  const m = useGram ? n : d;
  const length = useGram ? d : n;
  const factor = useGram ? centred : transpose(centred, n, d);
  const gram = new Float64Array(m * m);
  for (let r = 0; r < m; r++) {
    for (let c = r; c < m; c++) {
      let dot = 0;
      for (let t = 0; t < length; t++) dot += factor[r * length + t] * factor[c * length + t];
      gram[r * m + c] = dot;
      gram[c * m + r] = dot;
    }
  }

  const eigenvectors = topEigenvectors(gram, m, count, seed); // count x m
  const axes = new Float64Array(count * d);
  for (let c = 0; c < count; c++) {
    if (useGram) {
      // The axis is centred^T u, normalised.
      let norm = 0;
      for (let a = 0; a < d; a++) {
        let value = 0;
        for (let i = 0; i < n; i++) value += centred[i * d + a] * eigenvectors[c * m + i];
        axes[c * d + a] = value;
        norm += value * value;
      }
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

function transpose(matrix: Float64Array, rows: number, columns: number): Float64Array {
  const result = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) result[c * rows + r] = matrix[r * columns + c];
  return result;
}

/**
 * The eigenvectors (count x m, row-major) of the `count` largest eigenvalues of the symmetric
 * positive semi-definite m x m matrix `s`, by subspace iteration with Rayleigh-Ritz.
 */
function topEigenvectors(s: Float64Array, m: number, count: number, seed: number): Float64Array {
  const block = Math.min(m, Math.max(count, MAX_BLOCK));
  const random = new SeededRandom(seed);
  // Column-major blocks: basis[j * m + r] is row r of basis vector j.
  let basis = new Float64Array(m * block);
  for (let t = 0; t < basis.length; t++) basis[t] = random.nextGaussian();
  orthonormalize(basis, m, block);
  let image = new Float64Array(m * block);
  let next = new Float64Array(m * block);
  const projected = new Float64Array(block * block);
  const rotation = new Float64Array(block * block);
  const ritzValues = new Float64Array(block);

  for (let iteration = 0; iteration < MAX_SUBSPACE_ITERATIONS; iteration++) {
    for (let j = 0; j < block; j++) symmetricTimes(s, m, basis, j * m, image, j * m);
    for (let a = 0; a < block; a++) {
      for (let b = a; b < block; b++) {
        let dot = 0;
        for (let r = 0; r < m; r++) dot += basis[a * m + r] * image[b * m + r];
        projected[a * block + b] = dot;
        projected[b * block + a] = dot;
      }
    }
    symmetricEigen(projected, block, ritzValues, rotation);

    // Ritz vectors (basis * rotation) into `next`; their images (image * rotation) checked below.
    rotate(basis, m, block, rotation, next);
    let converged = true;
    const scale = Math.max(Math.abs(ritzValues[0]), Number.MIN_VALUE);
    for (let c = 0; c < count && converged; c++) {
      let residual = 0;
      for (let r = 0; r < m; r++) {
        let imageEntry = 0;
        for (let j = 0; j < block; j++) imageEntry += image[j * m + r] * rotation[j * block + c];
        residual += (imageEntry - ritzValues[c] * next[c * m + r]) ** 2;
      }
      converged = Math.sqrt(residual) <= RESIDUAL_TOLERANCE * scale;
    }
    if (converged || iteration === MAX_SUBSPACE_ITERATIONS - 1) { if (process.env.PCA_DEBUG) console.log("iterations", iteration); return next.slice(0, count * m); }

    rotate(image, m, block, rotation, next);
    orthonormalize(next, m, block);
    [basis, next] = [next, basis];
    [image, next] = [next, image];
  }
  throw new Error('unreachable: the last subspace iteration returns');
}

/** out[outOffset..] = s * vector[offset..] for the symmetric m x m matrix s. */
function symmetricTimes(s: Float64Array, m: number, vector: Float64Array, offset: number, out: Float64Array, outOffset: number): void {
  for (let r = 0; r < m; r++) {
    let dot = 0;
    for (let c = 0; c < m; c++) dot += s[r * m + c] * vector[offset + c];
    out[outOffset + r] = dot;
  }
}

/** out = vectors * rotation, for `block` column-major vectors of length m. */
function rotate(vectors: Float64Array, m: number, block: number, rotation: Float64Array, out: Float64Array): void {
  out.fill(0);
  for (let c = 0; c < block; c++) {
    for (let j = 0; j < block; j++) {
      const weight = rotation[j * block + c];
      for (let r = 0; r < m; r++) out[c * m + r] += vectors[j * m + r] * weight;
    }
  }
}

/** Modified Gram-Schmidt on `block` column-major vectors of length m, in place. */
function orthonormalize(vectors: Float64Array, m: number, block: number): void {
  for (let j = 0; j < block; j++) {
    // A vector that vanishes (rank-deficient matrix) is replaced by unit vectors until one is
    // independent of the others; it carries a zero eigenvalue, so never ranks above a real axis.
    for (let attempt = 0; ; attempt++) {
      for (let previous = 0; previous < j; previous++) {
        let dot = 0;
        for (let r = 0; r < m; r++) dot += vectors[previous * m + r] * vectors[j * m + r];
        for (let r = 0; r < m; r++) vectors[j * m + r] -= dot * vectors[previous * m + r];
      }
      let norm = 0;
      for (let r = 0; r < m; r++) norm += vectors[j * m + r] ** 2;
      norm = Math.sqrt(norm);
      if (norm > 0) {
        for (let r = 0; r < m; r++) vectors[j * m + r] /= norm;
        break;
      }
      vectors[j * m + (attempt % m)] = 1;
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
