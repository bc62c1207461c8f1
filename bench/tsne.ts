/**
 * t-SNE speed and quality against scikit-learn and openTSNE, on each data shape of
 * bench/tsneData.ts (clustered, overlapping, outliers, curve: 768-D; real CLS features vit-low,
 * vit-high: 64-D, vit768-low, vit768-high: 768-D) at each n, all engines on the same data in one
 * run: wall time (median of the runs), CPU time, the exact KL(P || Q) of each result against the
 * same P (scikit-learn's, which ours equals: test/lib/embed/tsne.test.ts), its SLS score, and ours
 * against each peer (wall-time and exact-KL ratios); then the silhouette of the largest n's
 * embedding, ours against scikit-learn's. The real features are extracted on first use and cached
 * (bench/tsneFeatures.ts).
 *
 *   npx tsx bench/tsne.ts [--sizes 1000,5000,10000,20000] [--shapes clustered,overlapping,outliers,curve]
 *                         [--runs 3] [--large-runs 1] [--large-from 10000] [--threads N]
 *                         [--python .venv-fixtures/bin/python] [--no-opentsne] [--no-sklearn]
 *
 * Ours runs in this process with `--threads` threads (default: all cores). scikit-learn runs
 * with its default threads (reported), and up to --sklearn-one-thread-upto also with one. Peers
 * run with OMP_WAIT_POLICY=PASSIVE: OpenMP threads that spin while they wait cost many fold on a
 * machine busy with other work (scikit-learn took 80 s instead of 2 at n = 1000 under load 10).
 * The load average is printed before and after: compare rows of one run only. openTSNE (FFT
 * gradient, n_jobs = cores, its own momentum and neighbour defaults; early exaggeration 12 for
 * 250 iterations, then 750) runs from the same Python (.venv-fixtures has it): a peer to compare
 * with, never a dependency.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SparseAffinities } from '../lib/embed/tsne/affinity.js';
import { runTsne } from '../lib/embed/tsne/index.js';
import { exactKlDivergence } from '../lib/embed/tsne/kl.js';
import { minMaxScale, silhouetteScore, slsScore } from '../lib/score/silhouette.js';
import { generate, referenceAffinities, type ShapeName } from './tsneData.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000,10000,20000' },
    shapes: { type: 'string', default: 'clustered,overlapping,outliers,curve' },
    runs: { type: 'string', default: '3' },
    'large-runs': { type: 'string', default: '1' },
    'large-from': { type: 'string', default: '10000' },
    threads: { type: 'string', default: String(availableParallelism()) },
    python: {
      type: 'string',
      default: process.env.SLS_FIXTURE_PYTHON ?? join(import.meta.dirname, '..', '.venv-fixtures', 'bin', 'python'),
    },
    'no-opentsne': { type: 'boolean', default: false },
    'no-sklearn': { type: 'boolean', default: false },
    'sklearn-one-thread-upto': { type: 'string', default: '5000' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const runsAt = (n: number) => Number(n >= Number(args['large-from']) ? args['large-runs'] : args.runs);
const threads = Number(args.threads);
/** Runs one engine `runs` times on the features at `path`; prints times and the last embedding. */
const PEER_SCRIPT = `
import json, sys, time, base64, os
import numpy as np
engine, path, n, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(path, dtype="<f4").reshape(n, d)
if engine == "sklearn":
    from sklearn.manifold import TSNE
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    threads = _openmp_effective_n_threads()
    fit = lambda: TSNE(random_state=0).fit_transform(X)
else:
    from openTSNE import TSNE
    threads = os.cpu_count()
    fit = lambda: np.asarray(TSNE(perplexity=30, early_exaggeration=12, early_exaggeration_iter=250, n_iter=750,
        negative_gradient_method="fft", initialization="pca", n_jobs=threads, random_state=0).fit(X))
times, cpu = [], []
for _ in range(runs):
    start, start_cpu = time.perf_counter(), time.process_time()
    embedding = fit()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
print(json.dumps({"threads": threads, "times": times, "cpu": cpu,
    "embedding": base64.b64encode(np.ascontiguousarray(embedding, dtype="<f8").tobytes()).decode()}))
`;

const SILHOUETTE_SCRIPT = `
import json, sys, time
import numpy as np
from sklearn.metrics import silhouette_score
path, labels_path, n, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
points = np.fromfile(path, dtype="<f8").reshape(n, 2)
labels = np.fromfile(labels_path, dtype="<i4")
times = []
for _ in range(runs):
    start = time.perf_counter()
    score = silhouette_score(points, labels)
    times.append(time.perf_counter() - start)
print(json.dumps({"times": times, "score": float(score)}))
`;

interface Row {
  engine: string;
  shape: ShapeName;
  n: number;
  threads: number;
  seconds: number[];
  /** CPU seconds (all threads), less sensitive than wall time to other load on the machine. */
  cpuSeconds: number[];
  kl: number;
  sls: number;
}

/** The row of our engine on the same shape and n as `row`, when `row` is a peer's. */
function oursFor(row: Row): Row | undefined {
  return row.engine.startsWith('sls') ? undefined : rows.find((r) => r.engine.startsWith('sls') && r.shape === row.shape && r.n === row.n);
}

function tableRow(row: Row): string {
  const runsText = row.seconds.map((s) => s.toFixed(2)).join(', ');
  const ours = oursFor(row);
  const cells = [
    row.shape,
    row.engine,
    row.n,
    row.threads,
    median(row.seconds).toFixed(2),
    runsText,
    median(row.cpuSeconds).toFixed(2),
    row.kl.toFixed(4),
    row.sls.toFixed(4),
    ours ? (median(ours.seconds) / median(row.seconds)).toFixed(2) : '',
    ours ? (ours.kl / row.kl).toFixed(4) : '',
  ];
  return `| ${cells.join(' | ')} |`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function slsOf(embedding: Float64Array, labels: Int32Array): number {
  const n = labels.length;
  return slsScore(
    Float64Array.from({ length: n }, (_, i) => embedding[2 * i]),
    Float64Array.from({ length: n }, (_, i) => embedding[2 * i + 1]),
    labels,
  );
}

async function timeOurs(
  shape: ShapeName,
  features: Float32Array,
  labels: Int32Array,
  n: number,
  d: number,
  affinities: SparseAffinities,
): Promise<Row & { embedding: Float64Array }> {
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  let embedding: Float64Array = new Float64Array(0);
  for (let r = 0; r < runsAt(n); r++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    embedding = (await runTsne(features, n, d, { seed: 0, threads })).embedding;
    const cpu = process.cpuUsage(startCpu);
    seconds.push((performance.now() - start) / 1000);
    cpuSeconds.push((cpu.user + cpu.system) / 1e6);
  }
  return {
    engine: 'sls (this engine)',
    shape,
    n,
    threads,
    seconds,
    cpuSeconds,
    kl: exactKlDivergence(affinities, embedding),
    sls: slsOf(embedding, labels),
    embedding,
  };
}

function runPython(python: string, script: string, argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(python, ['-c', script, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28, env });
  if (result.status !== 0) throw new Error(`${python} failed: ${result.stderr}`);
  return result.stdout;
}

/** One peer's row; `oneThread` pins its OpenMP and BLAS pools to one thread. */
function timePeer(
  shape: ShapeName,
  engine: 'sklearn' | 'opentsne',
  python: string,
  path: string,
  labels: Int32Array,
  n: number,
  d: number,
  affinities: SparseAffinities,
  oneThread = false,
): Row {
  // Passive waits: spinning OpenMP threads on a machine busy with other work slow down many fold.
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', ...(oneThread ? { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } : {}) };
  const output = JSON.parse(runPython(python, PEER_SCRIPT, [engine, path, String(n), String(d), String(runsAt(n))], env)) as {
    threads: number;
    times: number[];
    cpu: number[];
    embedding: string;
  };
  const bytes = Buffer.from(output.embedding, 'base64');
  const embedding = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    engine: `${engine === 'sklearn' ? 'scikit-learn 1.9 barnes_hut' : 'openTSNE 1.0 FFT'}${oneThread ? ', 1 thread' : ''}`,
    shape,
    n,
    threads: output.threads,
    seconds: output.times,
    cpuSeconds: output.cpu,
    kl: exactKlDivergence(affinities, embedding),
    sls: slsOf(embedding, labels),
  };
}

const loadBefore = loadavg();
const directory = mkdtempSync(join(tmpdir(), 'sls-bench-'));
const rows: Row[] = [];
/** Keeps a row, and shows it at once (a long run can then be followed, or cut short). */
function record(row: Row): void {
  rows.push(row);
  console.error(`[bench] ${tableRow(row)}`);
}
const silhouetteLines: string[] = [];
const dimensions = new Map<ShapeName, number>();
try {
  for (const shape of args.shapes.split(',') as ShapeName[]) {
    for (const n of sizes) {
      const { features, labels, d } = await generate(shape, n, 1);
      dimensions.set(shape, d);
      const path = join(directory, `features-${n}.f32`);
      writeFileSync(path, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
      const affinities = await referenceAffinities(features, n, d);
      const ours = await timeOurs(shape, features, labels, n, d, affinities);
      record(ours);
      if (!args['no-sklearn']) {
        record(timePeer(shape, 'sklearn', args.python, path, labels, n, d, affinities));
        if (n <= Number(args['sklearn-one-thread-upto']))
          record(timePeer(shape, 'sklearn', args.python, path, labels, n, d, affinities, true));
      }
      if (!args['no-opentsne']) record(timePeer(shape, 'opentsne', args.python, path, labels, n, d, affinities));
      if (shape === 'clustered' && n === Math.max(...sizes)) silhouetteLines.push(...timeSilhouette(ours.embedding, labels, n));
    }
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}

/** Silhouette of the min-max scaled embedding: ours against scikit-learn's silhouette_score. */
function timeSilhouette(embedding: Float64Array, labels: Int32Array, n: number): string[] {
  const scaled = minMaxScale(embedding, 2);
  const runs = 3;
  const seconds: number[] = [];
  let ours = 0;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    ours = silhouetteScore(scaled, 2, labels);
    seconds.push((performance.now() - start) / 1000);
  }
  const pointsPath = join(directory, 'points.f64');
  const labelsPath = join(directory, 'labels.i32');
  writeFileSync(pointsPath, Buffer.from(scaled.buffer));
  writeFileSync(labelsPath, Buffer.from(labels.buffer));
  const theirs = JSON.parse(runPython(args.python, SILHOUETTE_SCRIPT, [pointsPath, labelsPath, String(n), String(runs)])) as {
    times: number[];
    score: number;
  };
  return [
    `Silhouette of the min-max scaled ${n}-point clustered embedding, median of ${runs} runs:`,
    `| engine | median wall s | runs (wall s) | score |`,
    '|---|---|---|---|',
    `| sls silhouetteScore | ${median(seconds).toFixed(3)} | ${seconds.map((s) => s.toFixed(3)).join(', ')} | ${ours.toFixed(12)} |`,
    `| scikit-learn silhouette_score | ${median(theirs.times).toFixed(3)} | ${theirs.times.map((s) => s.toFixed(3)).join(', ')} | ${theirs.score.toFixed(12)} |`,
    `ratio ${(median(theirs.times) / median(seconds)).toFixed(1)}x; |difference| ${Math.abs(ours - theirs.score).toExponential(2)}`,
  ];
}

console.log(
  `t-SNE of ${[...dimensions].map(([shape, d]) => `${shape} ${d}-D`).join(', ')}; perplexity 30, 1000 iterations; ${availableParallelism()} cores; ` +
    `runs: ${args.runs} below n = ${args['large-from']}, ${args['large-runs']} from there; ` +
    `load average (1 min) ${loadBefore[0].toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`,
);
console.log(
  '| shape | engine | n | threads | median wall s | runs (wall s) | median CPU s | exact KL | SLS | wall ours / this | KL ours / this |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(tableRow(row));
console.log();
for (const line of silhouetteLines) console.log(line);
