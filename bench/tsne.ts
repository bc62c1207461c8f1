/**
 * t-SNE speed and quality against scikit-learn, on the same generated clustered 768-D data:
 * median wall time of several runs at n = 1000 and 5000, the exact KL(P || Q) of each result
 * (against the same P) and its SLS score.
 *
 *   npx tsx bench/tsne.ts [--sizes 1000,5000] [--runs 3] [--python /work/fixvenv/bin/python]
 *
 * Our engine is single-threaded; scikit-learn runs with all cores and with one thread.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { slsScore } from '../lib/silhouette.js';
import { jointProbabilities, type SparseAffinities } from '../lib/tsne/affinity.js';
import { BARNES_HUT_FROM, runTsne, type TsneOptions } from '../lib/tsne/index.js';
import { exactKlDivergence } from '../lib/tsne/kl.js';
import { exactNeighbors } from '../lib/tsne/neighbors.js';
import { SeededRandom } from '../lib/tsne/random.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    runs: { type: 'string', default: '3' },
    python: { type: 'string', default: process.env.SLS_FIXTURE_PYTHON ?? '/work/fixvenv/bin/python' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const runs = Number(args.runs);
const DIMENSION = 768;
const CLASSES = 10;

/** Gaussian classes around random centres, about as separated as a ViT layer's CLS features. */
function clusteredData(n: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const centres = new Float64Array(CLASSES * DIMENSION);
  for (let t = 0; t < centres.length; t++) centres[t] = 0.15 * random.nextGaussian();
  const features = new Float32Array(n * DIMENSION);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % CLASSES;
    for (let a = 0; a < DIMENSION; a++) features[i * DIMENSION + a] = centres[labels[i] * DIMENSION + a] + 0.1 * random.nextGaussian();
  }
  return { features, labels };
}

const SKLEARN_SCRIPT = `
import json, sys, time, base64
import numpy as np
from sklearn.manifold import TSNE
path, n, d, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X = np.fromfile(path, dtype="<f4").reshape(n, d)
times = []
for _ in range(runs):
    start = time.perf_counter()
    embedding = TSNE(random_state=0).fit_transform(X)
    times.append(time.perf_counter() - start)
print(json.dumps({"times": times, "embedding": base64.b64encode(embedding.astype("<f8").tobytes()).decode()}))
`;

interface Row {
  engine: string;
  n: number;
  seconds: number[];
  kl: number;
  sls: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function slsOf(embedding: Float64Array, labels: Int32Array): number {
  const n = labels.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = embedding[2 * i];
    y[i] = embedding[2 * i + 1];
  }
  return slsScore(x, y, labels);
}

async function timeOurs(
  features: Float32Array,
  labels: Int32Array,
  n: number,
  affinities: SparseAffinities,
  method: TsneOptions['method'],
): Promise<Row> {
  const seconds: number[] = [];
  let embedding: Float64Array = new Float64Array(0);
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    embedding = (await runTsne(features, n, DIMENSION, { method, seed: 0 })).embedding;
    seconds.push((performance.now() - start) / 1000);
  }
  return { engine: `sls ${method}`, n, seconds, kl: exactKlDivergence(affinities, embedding), sls: slsOf(embedding, labels) };
}

function timeSklearn(
  features: Float32Array,
  labels: Int32Array,
  n: number,
  affinities: SparseAffinities,
  threads: number,
): Row {
  const directory = mkdtempSync(join(tmpdir(), 'sls-bench-'));
  try {
    const path = join(directory, 'features.f32');
    writeFileSync(path, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
    const result = spawnSync(args.python, ['-c', SKLEARN_SCRIPT, path, String(n), String(DIMENSION), String(runs)], {
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    if (result.status !== 0) throw new Error(`scikit-learn failed: ${result.stderr}`);
    const output = JSON.parse(result.stdout) as { times: number[]; embedding: string };
    const bytes = Buffer.from(output.embedding, 'base64');
    const embedding = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return {
      engine: `scikit-learn barnes_hut, ${threads} thread${threads > 1 ? 's' : ''}`,
      n,
      seconds: output.times,
      kl: exactKlDivergence(affinities, embedding),
      sls: slsOf(embedding, labels),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const n of sizes) {
  const { features, labels } = clusteredData(n, 1);
  // One P for every engine's exact KL: ours equals scikit-learn's (see test/lib/tsne.test.ts).
  const affinities = jointProbabilities(exactNeighbors(features, n, DIMENSION, Math.min(n - 1, 91)), n, 30);
  const methods: TsneOptions['method'][] = n < BARNES_HUT_FROM * 2 ? ['exact', 'barnes_hut'] : ['barnes_hut'];
  for (const method of methods) rows.push(await timeOurs(features, labels, n, affinities, method));
  for (const threads of new Set([cpus().length, 1])) rows.push(timeSklearn(features, labels, n, affinities, threads));
  console.error(`[bench] n = ${n} done`);
}

console.log(`t-SNE, ${DIMENSION}-D, ${CLASSES} classes, perplexity 30, 1000 iterations; ${runs} runs each, ${cpus().length} cores`);
console.log('| engine | n | median s | runs (s) | exact KL | SLS |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  const runsText = row.seconds.map((s) => s.toFixed(2)).join(', ');
  console.log(`| ${row.engine} | ${row.n} | ${median(row.seconds).toFixed(2)} | ${runsText} | ${row.kl.toFixed(4)} | ${row.sls.toFixed(4)} |`);
}
