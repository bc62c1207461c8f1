/**
 * t-SNE's k nearest neighbours (k = 3 * 30 + 1) at 768-D: the exact search (exactNeighbors)
 * against the approximate one (approximateNeighbors) at each n, wall time (median of the runs)
 * and the approximate result's recall at k (neighborRecall on a seeded sample of points).
 *
 *   npx tsx bench/neighbors.ts [--sizes 20000,30000,50000] [--runs 3] [--exact-runs 3]
 *                              [--data classes,manifold] [--recall-sample 100] [--threads N]
 *
 * Data, 10 classes around centres drawn with spread 0.15 per axis (as bench/tsne.ts):
 * `classes` spreads each class by 0.1 per axis in every direction (bench/tsne.ts's data; within a
 * class no direction stands out, the hardest case for any partition), `manifold` by the same
 * amount within a random 16-dimensional subspace per class plus noise of 0.02 (features near a
 * low-dimensional manifold, as a layer's are). The load average is printed before and after:
 * compare rows of one run only.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { approximateNeighbors } from '../lib/embed/tsne/approximateNeighbors.js';
import type { Neighbors } from '../lib/embed/tsne/neighborHeap.js';
import { exactNeighbors } from '../lib/embed/tsne/neighbors.js';
import { SeededRandom } from '../lib/embed/tsne/random.js';
import { startTsneTeam } from '../lib/embed/tsne/tsneTeam.js';
import { neighborRecall } from './neighborRecall.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '20000,30000,50000' },
    runs: { type: 'string', default: '3' },
    'exact-runs': { type: 'string', default: '3' },
    data: { type: 'string', default: 'classes,manifold' },
    'recall-sample': { type: 'string', default: '100' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const DIMENSION = 768;
const CLASSES = 10;
const MANIFOLD_RANK = 16;
const K = 3 * 30 + 1;

function generate(kind: string, n: number, seed: number): Float32Array {
  const random = new SeededRandom(seed);
  const centres = Float64Array.from({ length: CLASSES * DIMENSION }, () => 0.15 * random.nextGaussian());
  const features = new Float32Array(n * DIMENSION);
  if (kind === 'classes') {
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < DIMENSION; a++)
        features[i * DIMENSION + a] = centres[(i % CLASSES) * DIMENSION + a] + 0.1 * random.nextGaussian();
    }
    return features;
  }
  if (kind !== 'manifold') throw new Error(`unknown --data ${kind}: classes or manifold`);
  // Axes of variance 0.01 / rank per coordinate: 0.01 per coordinate in all, as in `classes`.
  const axes = Float64Array.from(
    { length: CLASSES * MANIFOLD_RANK * DIMENSION },
    () => (0.1 / Math.sqrt(MANIFOLD_RANK)) * random.nextGaussian(),
  );
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    const row = features.subarray(i * DIMENSION, (i + 1) * DIMENSION);
    for (let a = 0; a < DIMENSION; a++) row[a] = centres[c * DIMENSION + a] + 0.02 * random.nextGaussian();
    for (let r = 0; r < MANIFOLD_RANK; r++) {
      const z = random.nextGaussian();
      for (let a = 0; a < DIMENSION; a++) row[a] += z * axes[(c * MANIFOLD_RANK + r) * DIMENSION + a];
    }
  }
  return features;
}

async function median(runs: number, once: () => Promise<Neighbors>): Promise<{ seconds: number; neighbors: Neighbors }> {
  const times: number[] = [];
  let neighbors: Neighbors | undefined;
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    neighbors = await once();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)], neighbors: neighbors! };
}

const threads = Number(args.threads);
const team = threads > 1 ? startTsneTeam(threads) : undefined;
console.log(
  `threads ${threads}, k ${K}, ${DIMENSION}-D; load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('data      n       exact s  approximate s  speed-up  recall@k');
try {
  for (const kind of args.data.split(',')) {
    for (const n of args.sizes.split(',').map(Number)) {
      const features = generate(kind, n, 0);
      const exact = await median(Number(args['exact-runs']), () => exactNeighbors(features, n, DIMENSION, K, team));
      const approximate = await median(Number(args.runs), () => approximateNeighbors(features, n, DIMENSION, K, team));
      const recall = neighborRecall(features, n, DIMENSION, approximate.neighbors, Number(args['recall-sample']));
      console.log(
        `${kind.padEnd(9)} ${String(n).padEnd(7)} ${exact.seconds.toFixed(2).padStart(7)}  ${approximate.seconds.toFixed(2).padStart(13)}  ` +
          `${(exact.seconds / approximate.seconds).toFixed(2).padStart(8)}  ${recall.toFixed(4)}`,
      );
    }
  }
} finally {
  await team?.close();
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
