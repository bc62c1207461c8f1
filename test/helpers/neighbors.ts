import type { CellSearch } from '../../lib/embed/tsne/approximateNeighbors.js';
import type { Cells } from '../../lib/embed/tsne/cellPartition.js';
import { SeededRandom } from '../../lib/embed/tsne/random.js';

/** The oracle for exact kNN tests: point i's k nearest by a plain float64 scan, ties to the smaller index. */
export function bruteForceNeighbors(features: Float32Array, n: number, d: number, k: number, i: number): number[] {
  return bruteForceScan(features, n, d, i)
    .slice(0, k)
    .map((entry) => entry.j);
}

/** Every other point with its squared distance to point i, nearest first, ties to the smaller index. */
export function bruteForceScan(features: Float32Array, n: number, d: number, i: number): { j: number; distance: number }[] {
  const all: { j: number; distance: number }[] = [];
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    let distance = 0;
    for (let a = 0; a < d; a++) distance += (features[i * d + a] - features[j * d + a]) ** 2;
    all.push({ j, distance });
  }
  return all.sort((p, q) => p.distance - q.distance || p.j - q.j);
}

/**
 * `classes` classes centred with spread 3, each a unit Gaussian in its own random `rank`-dimensional
 * subspace plus noise of spread 0.05: like a layer's features, near a low-dimensional manifold.
 */
export function clustered(n: number, d: number, classes: number, rank: number, seed: number): Float32Array {
  const random = new SeededRandom(seed);
  const centres = Float64Array.from({ length: classes * d }, () => 3 * random.nextGaussian());
  const axes = Float64Array.from({ length: classes * rank * d }, () => random.nextGaussian() / Math.sqrt(d));
  const features = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    for (let a = 0; a < d; a++) features[i * d + a] = centres[c * d + a] + 0.05 * random.nextGaussian();
    for (let r = 0; r < rank; r++) {
      const z = random.nextGaussian();
      for (let a = 0; a < d; a++) features[i * d + a] += z * axes[(c * rank + r) * d + a];
    }
  }
  return features;
}

/**
 * The single-thread search of `cells` over `features` that approximateNeighbors hands
 * searchClaimedCells: the rows copied in cell order, their float64 mean, empty outputs and a
 * fresh claim counter.
 */
export function cellSearchOf(features: Float32Array, n: number, d: number, k: number, cells: Cells): CellSearch {
  const rows = new Float32Array(n * d);
  for (let p = 0; p < n; p++) rows.set(features.subarray(cells.order[p] * d, (cells.order[p] + 1) * d), p * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a] / n;
  return {
    rows,
    n,
    d,
    k,
    mean,
    cells,
    indices: new Int32Array(n * k),
    sqDistances: new Float64Array(n * k),
    counter: new Int32Array(new SharedArrayBuffer(8)),
  };
}
