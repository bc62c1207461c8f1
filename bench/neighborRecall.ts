/**
 * The recall of an approximate kNN result (bench/neighbors.ts reports it for approximateNeighbors):
 * a measurement of the search, not a part of it.
 */
import { type Neighbors, squaredDistance } from '../lib/embed/tsne/neighborHeap.js';
import { SeededRandom, seededSample } from '../lib/embed/tsne/random.js';

/**
 * Recall of `neighbors` at k on `sampleSize` seeded sample points: the share of their listed
 * neighbours no farther than their true k-th nearest (by a float64 scan of every point), so that
 * ties at the k-th distance count as found (as ann-benchmarks counts).
 */
export function neighborRecall(features: Float32Array, n: number, d: number, neighbors: Neighbors, sampleSize: number, seed = 0): number {
  const { k } = neighbors;
  const sample = seededSample(n, Math.min(n, sampleSize), new SeededRandom(seed));
  const distances = new Float64Array(n - 1);
  let found = 0;
  for (const i of sample) {
    let t = 0;
    for (let j = 0; j < n; j++) if (j !== i) distances[t++] = squaredDistance(features, i * d, j * d, d);
    const kth = distances.sort()[k - 1];
    for (let r = 0; r < k; r++) if (squaredDistance(features, i * d, neighbors.indices[i * k + r] * d, d) <= kth) found++;
  }
  return found / (sample.length * k);
}
