import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conditionalProbabilities, jointProbabilities, type SparseAffinities } from '../../../lib/embed/tsne/affinity.js';
import { barnesHutObjective } from '../../../lib/embed/tsne/barnesHut.js';
import { exactObjective } from '../../../lib/embed/tsne/exact.js';
import { cheaperGradient } from '../../../lib/embed/tsne/gradientChoice.js';
import { validateTsneGradient } from '../../../lib/embed/tsne/gradients.js';
import { BARNES_HUT_FROM, runTsne } from '../../../lib/embed/tsne/index.js';
import { exactKlDivergence } from '../../../lib/embed/tsne/kl.js';
import { exactNeighbors } from '../../../lib/embed/tsne/neighbors.js';
import { gradientDescent, newWorkspace } from '../../../lib/embed/tsne/optimizer.js';
import { pcaInitialization } from '../../../lib/embed/tsne/pca.js';
import { QuadTree, SpatialOrder } from '../../../lib/embed/tsne/quadTree.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { FeatureKernel, ROW_PRODUCTS_BLOCK, SymmetricProducts, workOnRowProducts } from '../../../lib/embed/tsne/rowProductsKernel.js';
import { InputError } from '../../../lib/errors.js';
import { slsScore } from '../../../lib/score/silhouette.js';
import { embeddingColumns, gaussianBlobs, relativeError } from '../../helpers/fixtures.js';
import { bruteForceScan } from '../../helpers/neighbors.js';

/** scikit-learn's outputs on 5 Gaussian blobs (n = 400, d = 50); see make_sklearn_fixtures.py. */
const raw = JSON.parse(readFileSync(new URL('../../fixtures/sklearn/tsne_clustered.json', import.meta.url), 'utf8'));
function bytes(base64: string): ArrayBuffer {
  const buffer = Buffer.from(base64, 'base64');
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
}
const clustered = {
  n: raw.n as number,
  d: raw.d as number,
  features: new Float32Array(bytes(raw.features_float32)),
  labels: Int32Array.from(raw.labels as number[]),
  P: {
    n: raw.n as number,
    indptr: new Int32Array(bytes(raw.P.indptr_int32)),
    indices: new Int32Array(bytes(raw.P.indices_int32)),
    values: new Float64Array(bytes(raw.P.values_float64)),
  } satisfies SparseAffinities,
  PFromExactDistances: new Float64Array(bytes(raw.P.valuesFromExactDistances_float64)),
  pcaInit: new Float32Array(bytes(raw.pcaInit_float32)),
  pcaInitFloat64: new Float64Array(bytes(raw.pcaInitFloat64_float64)),
  embedding: Float64Array.from(new Float32Array(bytes(raw.embedding_float32))),
  exactKl: raw.exactKl as number,
  sls: raw.sls as number,
};

function sls(embedding: Float64Array, labels: Int32Array): number {
  const { x, y } = embeddingColumns(embedding);
  return slsScore(x, y, labels);
}

describe('SeededRandom', () => {
  it('produces the reference xoshiro128** stream (splitmix32 seeding)', () => {
    // From an independent Python transcription of the reference C code.
    const zero = new SeededRandom(0);
    expect([0, 1, 2, 3, 4].map(() => zero.nextUint32())).toEqual([3809008728, 1133695204, 53579671, 2891528803, 139681546]);
    const fortyTwo = new SeededRandom(42);
    expect([0, 1, 2, 3, 4].map(() => fortyTwo.nextUint32())).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180]);
  });

  it('gives uniforms in [0, 1) and standard normals', () => {
    const random = new SeededRandom(7);
    let sum = 0;
    let sumSquares = 0;
    let outside = 0;
    const count = 100_000;
    for (let t = 0; t < count; t++) {
      const u = random.nextFloat();
      if (!(u >= 0 && u < 1)) outside++;
      const g = random.nextGaussian();
      sum += g;
      sumSquares += g * g;
    }
    expect(outside).toBe(0);
    // Standard errors: mean 1/sqrt(1e5) ~ 0.003, variance sqrt(2/1e5) ~ 0.0045.
    expect(Math.abs(sum / count)).toBeLessThan(0.015);
    expect(Math.abs(sumSquares / count - 1)).toBeLessThan(0.02);
  });
});

describe('exactNeighbors', () => {
  it('finds the k nearest by squared distance, ties to the smaller index', async () => {
    // 1-D points 0, 1, 3, 7, 8, -1 (index 5).
    const features = Float32Array.from([0, 1, 3, 7, 8, -1]);
    const { indices, sqDistances } = await exactNeighbors(features, 6, 1, 2);
    // Point 0 has 1 and 5 both at distance 1, point 1 has 2 and 5 both at 4: ties to the smaller index.
    expect(Array.from(indices)).toEqual([1, 5, 0, 2, 1, 0, 4, 2, 3, 2, 0, 1]);
    expect(Array.from(sqDistances)).toEqual([1, 1, 1, 4, 4, 9, 1, 16, 1, 25, 1, 4]);
  });

  it('agrees across tile boundaries (n > 64) with a brute-force scan', async () => {
    const { features } = gaussianBlobs(50, 3, 4, 3);
    const n = 150;
    const d = 4;
    const k = 7;
    const { indices, sqDistances } = await exactNeighbors(features, n, d, k);
    for (const i of [0, 63, 64, 100, 149]) {
      const all = bruteForceScan(features, n, d, i);
      expect(Array.from(indices.subarray(i * k, (i + 1) * k))).toEqual(all.slice(0, k).map((e) => e.j));
      for (let r = 0; r < k; r++) expect(sqDistances[i * k + r]).toBeCloseTo(all[r].distance, 12);
    }
  });

  it('proves most candidate lists complete despite far outliers, and stays exact', async () => {
    // 300 points of 3 blobs (spread about 1), 3 of them moved 1000 away, 40 rows duplicated.
    const { features: blobFeatures } = gaussianBlobs(100, 3, 16, 5);
    const n = 300;
    const d = 16;
    const k = 10;
    const features = Float32Array.from(blobFeatures);
    for (const [o, row] of [10, 150, 290].entries()) features[row * d + o] += 1000;
    for (let i = 200; i < 240; i++) features.copyWithin(i * d, (i - 100) * d, (i - 99) * d);
    const { indices, sqDistances, rescanned } = await exactNeighbors(features, n, d, k);
    // A bound from the largest norm (about 1e6 against about 20) would fail every point.
    expect(rescanned).toBeLessThan(n / 10);
    for (const i of [0, 10, 100, 150, 200, 239, 290, 299]) {
      const all = bruteForceScan(features, n, d, i);
      expect(Array.from(indices.subarray(i * k, (i + 1) * k))).toEqual(all.slice(0, k).map((e) => e.j));
      for (let r = 0; r < k; r++) expect(sqDistances[i * k + r]).toBeCloseTo(all[r].distance, 6);
    }
  });

  it('proves the lists of points along a line complete without scanning them in full', async () => {
    // 5,000 points at 0, 1, 2, ... on one axis of 768-D: distances grow slowly with rank, against
    // an f32 error bound that grows with the norms (keeping 8 candidates beyond k, 1,018 points
    // were scanned in full). Point i's neighbours: i -+ 1 (squared distance 1), i -+ 2 (4), ...
    const n = 5000;
    const d = 768;
    const k = 91;
    const features = new Float32Array(n * d);
    for (let i = 0; i < n; i++) features[i * d] = i;
    const { indices, sqDistances, rescanned } = await exactNeighbors(features, n, d, k);
    expect(rescanned).toBe(0);
    const expected = (i: number) =>
      Array.from({ length: n }, (_, j) => j)
        .filter((j) => j !== i)
        .sort((a, b) => Math.abs(a - i) - Math.abs(b - i) || a - b)
        .slice(0, k);
    for (const i of [0, 1, 45, 2500, 4999]) {
      expect(Array.from(indices.subarray(i * k, (i + 1) * k))).toEqual(expected(i));
      expect(Array.from(sqDistances.subarray(i * k, (i + 1) * k))).toEqual(expected(i).map((j) => (j - i) ** 2));
    }
  });
});

describe('affinities', () => {
  it('matches the perplexity: equal distances give a uniform row, entropy = log(perplexity)', () => {
    const uniform = conditionalProbabilities(
      { k: 3, indices: Int32Array.from([1, 2, 3]), sqDistances: Float64Array.from([2, 2, 2]) },
      1,
      3,
    );
    // Any precision gives 1/3 each; entropy log 3 = log(perplexity) at once.
    for (const p of uniform) expect(p).toBeCloseTo(1 / 3, 15);

    const sqDistances = Float64Array.from([1, 2, 4, 8, 16]);
    const row = conditionalProbabilities({ k: 5, indices: Int32Array.from([1, 2, 3, 4, 5]), sqDistances }, 1, 2.5);
    let entropy = 0;
    for (const p of row) entropy -= p * Math.log(p);
    expect(Math.abs(entropy - Math.log(2.5))).toBeLessThan(1e-5);
    // Gaussian in the distance: p_r / p_0 = exp(-beta (d_r - d_0)) for one beta.
    const beta = Math.log(row[0] / row[1]) / (2 - 1);
    expect(Math.log(row[0] / row[4]) / (16 - 1)).toBeCloseTo(beta, 10);
  });

  it("equals scikit-learn's P (_joint_probabilities_nn) on clustered data", async () => {
    const { n, d, features, P, PFromExactDistances } = clustered;
    const ours = jointProbabilities(await exactNeighbors(features, n, d, 91), n, 30);
    expect(Array.from(ours.indptr)).toEqual(Array.from(P.indptr));
    expect(Array.from(ours.indices)).toEqual(Array.from(P.indices));
    let maxFromExact = 0;
    let maxFromSklearn = 0;
    let sumAbsolute = 0;
    for (let t = 0; t < P.values.length; t++) {
      maxFromExact = Math.max(maxFromExact, Math.abs(ours.values[t] - PFromExactDistances[t]) / PFromExactDistances[t]);
      maxFromSklearn = Math.max(maxFromSklearn, Math.abs(ours.values[t] - P.values[t]) / P.values[t]);
      sumAbsolute += Math.abs(ours.values[t] - P.values[t]);
    }
    // Same neighbour distances in: same P to rounding.
    expect(maxFromExact).toBeLessThan(1e-12);
    // scikit-learn's own kNN distances carry ~1e-7 relative rounding, which moves a few rows'
    // bisection across its 1e-5 entropy tolerance: a few entries differ by up to ~0.2%.
    expect(maxFromSklearn).toBeLessThan(5e-3);
    expect(sumAbsolute).toBeLessThan(1e-4);
  });
});

describe('pcaInitialization', () => {
  it("equals scikit-learn's PCA initialisation (svd_flip signs, first std 1e-4)", async () => {
    const { n, d, features, pcaInit, pcaInitFloat64 } = clustered;
    const ours = await pcaInitialization(features, n, d, 0);
    let scale = 0;
    for (const v of pcaInitFloat64) scale = Math.max(scale, Math.abs(v));
    let fromFloat64 = 0;
    let fromTsne = 0;
    for (let t = 0; t < 2 * n; t++) {
      fromFloat64 = Math.max(fromFloat64, Math.abs(ours[t] - pcaInitFloat64[t]));
      fromTsne = Math.max(fromTsne, Math.abs(ours[t] - pcaInit[t]));
    }
    expect(fromFloat64 / scale).toBeLessThan(1e-9);
    // TSNE runs its PCA in float32.
    expect(fromTsne / scale).toBeLessThan(1e-5);
  });

  it('uses the Gram matrix when n < d (hand case)', async () => {
    // 4 points in 6-D along two orthogonal directions with different spreads (hand case):
    // rows are +-3 e1 and +-1 e2; the first axis is e1, the second e2.
    const features = new Float32Array(24);
    features[0] = 3;
    features[6] = -3;
    features[12 + 1] = 1;
    features[18 + 1] = -1;
    const init = await pcaInitialization(features, 4, 6, 5);
    // Scores on e1: 3, -3, 0, 0 (std sqrt(4.5)); on e2: 0, 0, 1, -1. Divided by sqrt(4.5), x 1e-4.
    const s = 1e-4 / Math.sqrt(4.5);
    const expected = [3 * s, 0, -3 * s, 0, 0, 1 * s, 0, -1 * s];
    for (let t = 0; t < 8; t++) expect(init[t]).toBeCloseTo(expected[t], 18);
  });
  it('starts the second coordinate at random (std 1e-4) when the points are collinear', async () => {
    // Points t * (1, 2, 2) / 3 for t = 0..9: one axis, (1, 2, 2) / 3; scores t - 4.5, std sqrt(8.25).
    const features = new Float32Array(30);
    for (let t = 0; t < 10; t++) features.set([t / 3, (2 * t) / 3, (2 * t) / 3], 3 * t);
    const init = await pcaInitialization(features, 10, 3, 9);
    for (let t = 0; t < 10; t++) expect(init[2 * t]).toBeCloseTo(((t - 4.5) / Math.sqrt(8.25)) * 1e-4, 9);
    let squares = 0;
    for (let t = 0; t < 10; t++) squares += init[2 * t + 1] ** 2;
    expect(Math.sqrt(squares / 10)).toBeGreaterThan(2e-5); // ~1e-4, from 10 Gaussian draws
    expect(Math.sqrt(squares / 10)).toBeLessThan(3e-4);
  });

  /** The WASM kernel's covariance (or Gram) matrix and a plain float64 one of the same centred data. */
  function rowProductsAndReference(n: number, d: number, gram: boolean): { ours: Float64Array; reference: Float64Array } {
    const random = new SeededRandom(n + d);
    const features = Float32Array.from({ length: n * d }, () => 3 + random.nextGaussian());
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a] / n;
    const m = gram ? n : d;
    const ours = new Float64Array(m * m);
    workOnRowProducts({ features, mean, n, d, gram, products: ours, counter: new Int32Array(new SharedArrayBuffer(8)) });
    const centred = (i: number, a: number) => features[i * d + a] - mean[a];
    const reference = new Float64Array(m * m);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) {
        let dot = 0;
        if (gram) for (let a = 0; a < d; a++) dot += centred(r, a) * centred(c, a);
        else for (let i = 0; i < n; i++) dot += centred(i, r) * centred(i, c);
        reference[r * m + c] = dot;
      }
    }
    return { ours, reference };
  }

  function maxRelativeError(ours: Float64Array, reference: Float64Array): number {
    let scale = 0;
    for (const v of reference) scale = Math.max(scale, Math.abs(v));
    let error = 0;
    for (let t = 0; t < reference.length; t++) error = Math.max(error, Math.abs(ours[t] - reference[t]));
    return error / scale;
  }

  it("computes the covariance in WASM as a plain float64 loop does (d not a multiple of 4 or of the kernel's block)", () => {
    // d = 2 blocks + 7 (three blocks, the last partial, its last group partial); n = 300 spans two
    // of the kernel's packed stretches of 256 points.
    const d = 2 * ROW_PRODUCTS_BLOCK + 7;
    const { ours, reference } = rowProductsAndReference(300, d, false);
    expect(maxRelativeError(ours, reference)).toBeLessThan(1e-12);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) expect(ours[a * d + b]).toBe(ours[b * d + a]);
  });

  it('computes the Gram matrix in WASM as a plain float64 loop does (n < d, n not a multiple of 4)', () => {
    const n = ROW_PRODUCTS_BLOCK + 3;
    const { ours, reference } = rowProductsAndReference(n, 301, true);
    expect(maxRelativeError(ours, reference)).toBeLessThan(1e-12);
  });

  it('computes the means and the projection in WASM as plain float64 loops do (d odd)', () => {
    const random = new SeededRandom(8);
    const n = 50;
    const d = 13;
    const features = Float32Array.from({ length: n * d }, () => 5 + random.nextGaussian());
    const axes = Float64Array.from({ length: 2 * d }, () => random.nextGaussian());
    const kernel = new FeatureKernel(features, n, d);
    const mean = kernel.means();
    const embedding = kernel.project(mean, axes);
    const referenceMean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) referenceMean[a] += features[i * d + a];
    for (let a = 0; a < d; a++) referenceMean[a] /= n;
    const reference = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) {
        const centred = features[i * d + a] - referenceMean[a];
        for (let c = 0; c < 2; c++) reference[2 * i + c] += centred * axes[c * d + a];
      }
    }
    expect(maxRelativeError(mean, referenceMean)).toBeLessThan(1e-12);
    expect(maxRelativeError(embedding, reference)).toBeLessThan(1e-12);
  });

  it("multiplies the subspace iteration's blocks in WASM as a plain float64 loop does (even and odd widths)", () => {
    const random = new SeededRandom(4);
    const m = 37;
    const s = new Float64Array(m * m);
    for (let r = 0; r < m; r++) for (let c = r; c < m; c++) s[r * m + c] = s[c * m + r] = random.nextGaussian();
    for (const width of [16, 3]) {
      const basis = Float64Array.from({ length: m * width }, () => random.nextGaussian());
      const ours = new Float64Array(m * width);
      new SymmetricProducts(s, m, width).multiply(basis, ours);
      const reference = new Float64Array(m * width);
      for (let r = 0; r < m; r++)
        for (let c = 0; c < m; c++) for (let j = 0; j < width; j++) reference[r * width + j] += s[r * m + c] * basis[c * width + j];
      expect(maxRelativeError(ours, reference)).toBeLessThan(1e-12);
    }
  });
});

describe('KL divergence and gradient', () => {
  it("computes scikit-learn's embedding's exact KL as numpy does", () => {
    expect(exactKlDivergence(clustered.P, clustered.embedding)).toBeCloseTo(clustered.exactKl, 12);
  });

  it('matches a hand-computed three-point case', () => {
    // Points (0,0), (1,0), (0,2): w01 = 1/2, w02 = 1/5, w12 = 1/6; Z = 2 (1/2 + 1/5 + 1/6).
    // P: p01 = p10 = 0.3, p02 = p20 = 0.2 (p12 = 0, not stored).
    const P: SparseAffinities = {
      n: 3,
      indptr: Int32Array.from([0, 2, 3, 4]),
      indices: Int32Array.from([1, 2, 0, 0]),
      values: Float64Array.from([0.3, 0.2, 0.3, 0.2]),
    };
    const z = 2 * (1 / 2 + 1 / 5 + 1 / 6);
    const expected = 2 * (0.3 * Math.log(0.3 / (0.5 / z)) + 0.2 * Math.log(0.2 / (0.2 / z)));
    expect(exactKlDivergence(P, Float64Array.from([0, 0, 1, 0, 0, 2]))).toBeCloseTo(expected, 14);
  });

  it('gives the derivative of the exact KL (central differences)', () => {
    const random = new SeededRandom(11);
    const n = 6;
    // A random symmetric P over some pairs, normalised to 1.
    const pairs = [
      [0, 1],
      [0, 3],
      [1, 2],
      [2, 5],
      [3, 4],
      [4, 5],
      [1, 4],
    ];
    const dense = new Float64Array(n * n);
    for (const [i, j] of pairs) dense[i * n + j] = dense[j * n + i] = 0.1 + random.nextFloat();
    const total = dense.reduce((a, b) => a + b, 0);
    const indptr = new Int32Array(n + 1);
    const indices: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (dense[i * n + j] === 0) continue;
        indices.push(j);
        values.push(dense[i * n + j] / total);
      }
      indptr[i + 1] = indices.length;
    }
    const P: SparseAffinities = { n, indptr, indices: Int32Array.from(indices), values: Float64Array.from(values) };
    const embedding = new Float64Array(2 * n);
    for (let t = 0; t < 2 * n; t++) embedding[t] = 2 * random.nextGaussian();

    const gradient = new Float64Array(2 * n);
    const kl = exactObjective(P).objective(embedding, gradient, 1, true);
    expect(kl).toBeCloseTo(exactKlDivergence(P, embedding), 14);
    const h = 1e-6;
    for (let t = 0; t < 2 * n; t++) {
      const plus = Float64Array.from(embedding);
      const minus = Float64Array.from(embedding);
      plus[t] += h;
      minus[t] -= h;
      const numeric = (exactKlDivergence(P, plus) - exactKlDivergence(P, minus)) / (2 * h);
      expect(gradient[t]).toBeCloseTo(numeric, 7);
    }

    // Exaggeration scales only the attraction: g(a) = g(1) + 4 (a - 1) sum_j p_ij w_ij (y_i - y_j).
    const exaggerated = new Float64Array(2 * n);
    exactObjective(P).objective(embedding, exaggerated, 12, false);
    for (let i = 0; i < n; i++) {
      let ax = 0;
      let ay = 0;
      for (let t = indptr[i]; t < indptr[i + 1]; t++) {
        const j = P.indices[t];
        const dx = embedding[2 * i] - embedding[2 * j];
        const dy = embedding[2 * i + 1] - embedding[2 * j + 1];
        const w = 1 / (1 + dx * dx + dy * dy);
        ax += P.values[t] * w * dx;
        ay += P.values[t] * w * dy;
      }
      expect(exaggerated[2 * i]).toBeCloseTo(gradient[2 * i] + 4 * 11 * ax, 12);
      expect(exaggerated[2 * i + 1]).toBeCloseTo(gradient[2 * i + 1] + 4 * 11 * ay, 12);
    }
  });
});

describe('Barnes-Hut', () => {
  it('summarises a far cell by its centre of mass (hand case)', () => {
    // Unit-square corners and (10, 10). Root: [0, 10.01]^2 (upper bounds widened by 1e-3 x).
    // For (10, 10) the root is opened (10.01^2 >= 0.25 * 2 * 7.6^2); the lower-left child, width
    // 5.005, holds the 4 corners with centre of mass (0.5, 0.5) at squared distance 180.5, and
    // 5.005^2 < 0.25 * 180.5, so it counts as 4 points there. The upper-right child is the point.
    const embedding = Float64Array.from([0, 0, 1, 0, 0, 1, 1, 1, 10, 10]);
    const tree = new QuadTree(5);
    tree.build(embedding, 5, Int32Array.from([0, 1, 2, 3, 4]));
    const out = new Float64Array(2);
    const z = tree.repulsion(10, 10, 0.25, out, 0);
    const w = 1 / (1 + 180.5);
    expect(z).toBeCloseTo(4 * w, 15);
    expect(out[0]).toBeCloseTo(4 * w * w * 9.5, 15);
    expect(out[1]).toBeCloseTo(4 * w * w * 9.5, 15);
    // From (0, 0) every other point is resolved: the exact sums.
    const zOrigin = tree.repulsion(0, 0, 0.25, out, 0);
    const wFar = 1 / (1 + 200);
    expect(zOrigin).toBeCloseTo(1 / 2 + 1 / 2 + 1 / 3 + wFar, 14);
    expect(out[0]).toBeCloseTo(-(1 / 4) - 1 / 9 - wFar * wFar * 10, 14);
  });

  it('orders points along the Z curve', () => {
    const order = new Int32Array(4);
    new SpatialOrder(4).fill(Float64Array.from([1, 1, 0, 0, 1, 0, 0, 1]), 4, order);
    expect(Array.from(order)).toEqual([1, 3, 2, 0]); // (0,0), (0,1), (1,0), (1,1)
  });

  it('orders by each digit of the Z code, ties by index', () => {
    // On a 2^16 grid over the box, x at cell 0, 257 (digits 1 and 1 in the first byte of each
    // axis) or 65535, y at 0 or 65535: codes written out by hand, and two coincident points.
    const scale = 65535;
    const points = [
      [scale, scale], // code 0xffffffff
      [257, 0], // x bits 0 and 8 -> code bits 1 and 17: 0x00020002
      [0, scale], // y in the even bits: 0x55555555
      [257, 0], // a tie with point 1: after it
      [0, 0], // 0
      [scale, 0], // x in the odd bits: 0xaaaaaaaa
    ];
    const order = new Int32Array(points.length);
    new SpatialOrder(points.length).fill(Float64Array.from(points.flat()), points.length, order);
    expect(Array.from(order)).toEqual([4, 1, 3, 2, 5, 0]);
  });

  it('approximates the exact gradient, and equals it as the angle goes to 0', () => {
    const { P, embedding } = clustered;
    const n = P.n;
    // The repulsion alone (P = 0: at a converged embedding the full gradient is a small
    // difference of two large forces, so it would magnify the approximation error).
    const noAttraction: SparseAffinities = { ...P, values: new Float64Array(P.values.length) };
    const exactRepulsion = new Float64Array(2 * n);
    exactObjective(noAttraction).objective(embedding, exactRepulsion, 1, false);
    const approximateRepulsion = new Float64Array(2 * n);
    barnesHutObjective(noAttraction, undefined, 0.5).objective(embedding, approximateRepulsion, 1, false);
    expect(relativeError(approximateRepulsion, exactRepulsion)).toBeLessThan(0.01);

    const exact = new Float64Array(2 * n);
    const klExact = exactObjective(P).objective(embedding, exact, 1, true);
    const approximate = new Float64Array(2 * n);
    const klApproximate = barnesHutObjective(P, undefined, 0.5).objective(embedding, approximate, 1, true);
    expect(Math.abs(klApproximate - klExact) / klExact).toBeLessThan(0.01);
    const fine = new Float64Array(2 * n);
    const klFine = barnesHutObjective(P, undefined, 1e-6).objective(embedding, fine, 1, true);
    expect(relativeError(fine, exact)).toBeLessThan(1e-10);
    expect(klFine).toBeCloseTo(klExact, 10);
  });

  it('keeps coincident points in the normalisation (Z), as the exact gradient does', () => {
    // Three points, two of them coincident: the exact Z is 2 (1 + 2 * 1/2) = 4.
    const P: SparseAffinities = {
      n: 3,
      indptr: Int32Array.from([0, 2, 4, 6]),
      indices: Int32Array.from([1, 2, 0, 2, 0, 1]),
      values: Float64Array.from([1, 1, 1, 1, 1, 1]).map((v) => v / 6),
    };
    const embedding = Float64Array.from([0, 0, 0, 0, 1, 0]);
    const exact = new Float64Array(6);
    const approximate = new Float64Array(6);
    const klExact = exactObjective(P).objective(embedding, exact, 1, true);
    const klApproximate = barnesHutObjective(P).objective(embedding, approximate, 1, true);
    expect(klApproximate).toBeCloseTo(klExact, 14);
    for (let t = 0; t < 6; t++) expect(approximate[t]).toBeCloseTo(exact[t], 14);
  });

  it('rejects angles at which a cell could summarise a point inside it', () => {
    expect(() => barnesHutObjective(clustered.P, undefined, 0.8)).toThrow(RangeError);
  });
});

describe('gradientDescent', () => {
  it('applies momentum and gains as scikit-learn (hand-computed steps)', async () => {
    // Objective 0.5 |y|^2 (gradient y), one coordinate pair (1, -2), learning rate 0.1, momentum 0.5.
    // Step 1: no previous update, gains 1 -> 0.8; update = -0.1 * 0.8 * g; y = 0.92 y.
    // Step 2: the gradient opposes the update, gains 0.8 -> 1.0; update = 0.5 * u1 - 0.1 * 1.0 * g1.
    const objective = (embedding: Float64Array, gradient: Float64Array) => {
      gradient.set(embedding);
      return 1;
    };
    const embedding = Float64Array.from([1, -2]);
    const stage = { startIteration: 0, maxIter: 2, momentum: 0.5, learningRate: 0.1, exaggeration: 1, iterationsWithoutProgress: 300 };
    const outcome = await gradientDescent(objective, embedding, stage, newWorkspace(1));
    const u1 = -0.08;
    const y1 = 0.92;
    const y2 = y1 + (0.5 * u1 - 0.1 * 1.0 * y1);
    expect(embedding[0]).toBeCloseTo(y2, 15);
    expect(embedding[1]).toBeCloseTo(-2 * y2, 15);
    expect(outcome.lastIteration).toBe(1);
  });

  it('stops on a small gradient or on no progress, at checks every 50 iterations', async () => {
    const zeroGradient = (_e: Float64Array, gradient: Float64Array) => {
      gradient.fill(0);
      return 1;
    };
    const stage = { startIteration: 0, maxIter: 1000, momentum: 0.8, learningRate: 1, exaggeration: 1, iterationsWithoutProgress: 300 };
    const checks: number[] = [];
    const stopped = await gradientDescent(zeroGradient, new Float64Array(2), stage, newWorkspace(1), (i) => {
      checks.push(i);
    });
    expect(stopped.lastIteration).toBe(49);
    expect(checks).toEqual([50]);

    // Constant error, non-zero gradient: best at iteration 49; at 399, 399 - 49 = 350 > 300.
    const flat = (_embedding: Float64Array, gradient: Float64Array) => {
      gradient.fill(1);
      return 1;
    };
    const stalled = await gradientDescent(flat, new Float64Array(2), stage, newWorkspace(1));
    expect(stalled.lastIteration).toBe(399);
  });
});

describe('validateTsneGradient', () => {
  it('accepts the four gradients and names them for anything else', () => {
    for (const gradient of ['auto', 'exact', 'barnes_hut', 'fft']) expect(() => validateTsneGradient(gradient)).not.toThrow();
    expect(() => validateTsneGradient('FFT')).toThrow(
      new RangeError('the t-SNE gradient must be one of auto, exact, barnes_hut, fft, got "FFT"'),
    );
    expect(() => validateTsneGradient(undefined)).toThrow(/got undefined/);
  });
});

describe('runTsne', () => {
  for (const method of ['exact', 'barnes_hut', 'fft'] as const) {
    it(`reaches scikit-learn's quality on clustered data, ${method} gradient`, async () => {
      const { n, d, features, labels } = clustered;
      const progress: number[] = [];
      const result = await runTsne(features, n, d, { seed: 0, method, onProgress: (i) => progress.push(i) });
      expect(result.iterations).toBe(1000);
      expect(progress).toEqual(Array.from({ length: 20 }, (_, c) => 50 * (c + 1)));
      // Exact KL against scikit-learn's P. scikit-learn (Barnes-Hut, random_state=0): 0.6117;
      // ours: exact 0.6087, Barnes-Hut 0.6126, FFT interpolation 0.6129.
      const ourKl = exactKlDivergence(clustered.P, result.embedding);
      expect(Math.abs(ourKl - clustered.exactKl) / clustered.exactKl).toBeLessThan(0.02);
      expect(result.klDivergence).toBeCloseTo(ourKl, 4); // against our own P
      // SLS: scikit-learn 0.9112; ours: exact 0.9225, Barnes-Hut 0.9115, FFT interpolation 0.9051.
      expect(Math.abs(sls(result.embedding, labels) - clustered.sls)).toBeLessThan(0.02);
    });

    it(`is bit-identical for the same seed, ${method} gradient`, async () => {
      const { features, labels } = gaussianBlobs(30, 3, 8, 1);
      const first = await runTsne(features, 90, 8, { seed: 3, method, maxIter: 400 });
      const second = await runTsne(features, 90, 8, { seed: 3, method, maxIter: 400 });
      expect(Buffer.from(second.embedding.buffer).equals(Buffer.from(first.embedding.buffer))).toBe(true);
      expect(second.klDivergence).toBe(first.klDivergence);
      expect(sls(first.embedding, labels)).toBeGreaterThan(0.8);
    });

    it(`handles duplicate points, ${method} gradient`, async () => {
      const { features, labels } = gaussianBlobs(25, 2, 6, 5);
      // Points 0-9 of each class copied onto points 10-19.
      for (const start of [0, 25]) features.copyWithin((start + 10) * 6, start * 6, (start + 10) * 6);
      const { embedding, klDivergence } = await runTsne(features, 50, 6, { perplexity: 10, method });
      // scikit-learn's Barnes-Hut blows up here (KL reported -1.0, spread 1000): see barnesHut.ts.
      expect(klDivergence).toBeGreaterThan(0);
      expect(klDivergence).toBeLessThan(0.2); // exact 0.124, Barnes-Hut 0.134; scikit-learn exact 0.134
      let spread = 0;
      for (let t = 0; t < 100; t += 2) spread = Math.max(spread, Math.abs(embedding[t]));
      let apart = 0;
      for (const start of [0, 25]) {
        for (let k = start; k < start + 10; k++) {
          apart = Math.max(apart, Math.hypot(embedding[2 * k] - embedding[2 * k + 20], embedding[2 * k + 1] - embedding[2 * k + 21]));
        }
      }
      expect(apart).toBeLessThan(0.1 * spread);
      expect(sls(embedding, labels)).toBeGreaterThan(0.5);
    });
  }

  it(`uses Barnes-Hut from ${BARNES_HUT_FROM} samples ('auto'), where no FFT grid is cheaper`, async () => {
    // At the threshold itself: 'auto' gives Barnes-Hut's embedding bit for bit, not the exact gradient's.
    expect(cheaperGradient(BARNES_HUT_FROM, 0)).toBe('barnes_hut');
    const n = BARNES_HUT_FROM;
    const { features } = gaussianBlobs(n / 4, 4, 8, 1);
    const options = { seed: 3, maxIter: 250 };
    const bits = (result: { embedding: Float64Array }) => Buffer.from(result.embedding.buffer);
    const auto = bits(await runTsne(features, n, 8, options));
    expect(auto.equals(bits(await runTsne(features, n, 8, { ...options, method: 'barnes_hut' })))).toBe(true);
    expect(auto.equals(bits(await runTsne(features, n, 8, { ...options, method: 'exact' })))).toBe(false);
  });

  it('handles n just above 3 * perplexity + 1, and n below it (k = n - 1)', async () => {
    const above = gaussianBlobs(46, 2, 5, 2); // n = 92, k = 91
    const resultAbove = await runTsne(above.features, 92, 5, { perplexity: 30 });
    // Each neighbourhood holds a third of the points: the blobs touch (exact gradient: SLS 0.755).
    expect(sls(resultAbove.embedding, above.labels)).toBeGreaterThan(0.7);
    expect(Number.isFinite(resultAbove.klDivergence)).toBe(true);

    const below = gaussianBlobs(20, 2, 5, 4); // n = 40, k = 39: every other point is a neighbour
    const resultBelow = await runTsne(below.features, 40, 5, { perplexity: 30 });
    expect(sls(resultBelow.embedding, below.labels)).toBeGreaterThan(0.5);
    expect(Number.isFinite(resultBelow.klDivergence)).toBe(true);
  });

  it('embeds one-dimensional features (the second PCA axis is zero)', async () => {
    // 1-D points in two groups: 0..9 and 100..109.
    const features = Float32Array.from({ length: 20 }, (_, i) => (i < 10 ? i : 90 + i));
    const labels = Int32Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 1));
    const { embedding } = await runTsne(features, 20, 1, { perplexity: 5 });
    for (const v of embedding) expect(Number.isFinite(v)).toBe(true);
    expect(sls(embedding, labels)).toBeGreaterThan(0.5);
  });

  it('leaves identical inputs at the origin instead of failing', async () => {
    const result = await runTsne(new Float32Array(20 * 3).fill(1.5), 20, 3, { perplexity: 5 });
    for (const v of result.embedding) expect(v).toBe(0);
  });

  it('rejects bad input, naming the source', async () => {
    const features = new Float32Array(10 * 2);
    await expect(runTsne(features, 10, 2, { perplexity: 10, source: 'layer-07.arrow' })).rejects.toThrow(InputError);
    await expect(runTsne(features, 10, 2, { perplexity: 10, source: 'layer-07.arrow' })).rejects.toThrow(/layer-07.arrow.*perplexity/);
    await expect(runTsne(features, 10, 2, { perplexity: 0 })).rejects.toThrow(InputError);
    await expect(runTsne(features, 15, 1, { perplexity: 5, source: 's' })).rejects.toThrow(/values do not make/);
    await expect(runTsne(new Float32Array(0), 10, 0, { source: 's' })).rejects.toThrow(/dimension/);
    await expect(runTsne(new Float32Array(2), 1, 2, { perplexity: 0.5 })).rejects.toThrow(/at least 2 samples/);
    await expect(runTsne(features, 10, 2, { perplexity: 3, maxIter: 100 })).rejects.toThrow(/maxIter/);
    const unknownGradient = runTsne(features, 10, 2, { perplexity: 3, method: 'bh' as 'barnes_hut', source: 'layer-02.arrow' });
    await expect(unknownGradient).rejects.toThrow(InputError);
    await expect(unknownGradient).rejects.toThrow(
      'layer-02.arrow: the t-SNE gradient must be one of auto, exact, barnes_hut, fft, got "bh"',
    );
    const withNaN = new Float32Array(20);
    withNaN[13] = Number.NaN;
    await expect(runTsne(withNaN, 10, 2, { perplexity: 3, source: 'x' })).rejects.toThrow(/feature 1 of sample 6 is NaN/);
    withNaN[13] = Number.POSITIVE_INFINITY;
    await expect(runTsne(withNaN, 10, 2, { perplexity: 3 })).rejects.toThrow(/Infinity/);
  });
});
