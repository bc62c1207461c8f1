/**
 * How much the SLS score of a t-SNE embedding depends on the gradient's approximation, on one data
 * shape of bench/tsneData.ts: our engine with each gradient (exact, FFT interpolation,
 * Barnes-Hut, and 'auto', the engine's per-gradient choice) over several seeds, against
 * scikit-learn's `TSNE` at its defaults, at its defaults on one thread (its Barnes-Hut sums Z
 * in an order that follows the thread count), at angle 0.2 (a more accurate Barnes-Hut), and at
 * its defaults from its own PCA start perturbed by a relative 1e-3 (how far its score moves for a
 * start that differs by nothing that matters). Each row gives the exact KL(P || Q) against the
 * same P, the SLS score (min-max scaled silhouette, as `sls score`) and the fit's wall time (our
 * runTsne in process; scikit-learn's fit_transform alone).
 *
 * Then, on snapshots of one FFT run of ours, each approximation's error against the exact
 * gradient: its Z over the exact Z, less 1, and the scale of its normalised repulsion along the
 * exact one, less 1 (negative: a weaker repulsion than the exact gradient's).
 *
 *   npx tsx bench/tsneGradients.ts [--shape overlapping] [--n 10000] [--seeds 0,1,2] [--threads 2]
 *                                  [--methods exact,fft,barnes_hut,auto] [--python .venv-fixtures/bin/python]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SparseAffinities } from '../lib/embed/tsne/affinity.js';
import { barnesHutObjective } from '../lib/embed/tsne/barnesHut.js';
import { exactObjective } from '../lib/embed/tsne/exact.js';
import { validateTsneGradient } from '../lib/embed/tsne/gradients.js';
import { runTsne, type TsneOptions } from '../lib/embed/tsne/index.js';
import { interpolationObjective } from '../lib/embed/tsne/interpolation.js';
import { exactKlDivergence } from '../lib/embed/tsne/kl.js';
import { minMaxScale, silhouetteScore } from '../lib/score/silhouette.js';
import { generate, referenceAffinities, type ShapeName } from './tsneData.js';

const { values: args } = parseArgs({
  options: {
    shape: { type: 'string', default: 'overlapping' },
    n: { type: 'string', default: '10000' },
    seeds: { type: 'string', default: '0,1,2' },
    threads: { type: 'string', default: String(availableParallelism()) },
    methods: { type: 'string', default: 'exact,fft,barnes_hut,auto' },
    python: {
      type: 'string',
      default: process.env.SLS_FIXTURE_PYTHON ?? join(import.meta.dirname, '..', '.venv-fixtures', 'bin', 'python'),
    },
  },
});
const shape = args.shape as ShapeName;
const n = Number(args.n);
const seeds = args.seeds.split(',').map(Number);
const threads = Number(args.threads);

/** scikit-learn's variants, one embedding each, written as float64 n x 2 to <out>-<index>.f64; prints their names. */
const SKLEARN_SCRIPT = `
import sys, time, numpy as np
from threadpoolctl import threadpool_limits
from sklearn.manifold import TSNE
from sklearn.decomposition import PCA
path, n, d, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
X = np.fromfile(path, dtype="<f4").reshape(n, d)
# scikit-learn's own start for init="pca": randomized PCA with random_state, scaled to std 1e-4.
start = PCA(n_components=2, svd_solver="randomized", random_state=0).fit_transform(X).astype(np.float32)
start = start / np.std(start[:, 0]) * 1e-4
variants = [("default", {}), ("default, 1 thread", {}), ("angle 0.2", {"angle": 0.2})]
for s in (1, 2, 3):
    noise = np.random.default_rng(s).standard_normal(start.shape)
    variants.append((f"start x (1 + 1e-3 noise {s})", {"init": (start * (1 + 1e-3 * noise)).astype(np.float32)}))
for index, (name, options) in enumerate(variants):
    with threadpool_limits(1 if name.endswith("1 thread") else None):
        began = time.perf_counter()
        embedding = TSNE(random_state=0, **options).fit_transform(X)
        seconds = time.perf_counter() - began
    np.ascontiguousarray(embedding, dtype="<f8").tofile(out + "-" + str(index) + ".f64")
    print(f"{seconds:.2f} {name}", flush=True)
`;

const { features, labels, d } = await generate(shape, n, 1);
const affinities = await referenceAffinities(features, n, d);
const sls = (embedding: Float64Array) => silhouetteScore(minMaxScale(embedding, 2), 2, labels);
const row = (engine: string, embedding: Float64Array, seconds: string) =>
  console.log(`| ${engine} | ${exactKlDivergence(affinities, embedding).toFixed(4)} | ${sls(embedding).toFixed(4)} | ${seconds} |`);

console.log(`${shape}, n = ${n}, ${threads} threads\n\n| engine | exact KL | SLS | t-SNE wall s |\n|---|---|---|---|`);
const snapshots: { iteration: number; embedding: Float64Array }[] = [];
for (const method of args.methods.split(',').filter(Boolean)) {
  validateTsneGradient(method);
  for (const seed of seeds) {
    const options: TsneOptions = { method, seed, threads };
    if (method === 'fft' && seed === seeds[0]) {
      options.onCheckpoint = ({ iteration, embedding }) => void snapshots.push({ iteration, embedding });
    }
    const began = performance.now();
    const { embedding } = await runTsne(features, n, d, options);
    row(`sls ${method}, seed ${seed}`, embedding, ((performance.now() - began) / 1000).toFixed(2));
  }
}

const directory = mkdtempSync(join(tmpdir(), 'sls-gradients-'));
try {
  const path = join(directory, 'features.f32');
  writeFileSync(path, features);
  const result = spawnSync(args.python, ['-c', SKLEARN_SCRIPT, path, String(n), String(d), join(directory, 'sklearn')], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  if (result.status !== 0) throw new Error(`${args.python} failed: ${result.stderr}`);
  for (const [index, line] of result.stdout.trim().split('\n').entries()) {
    const [seconds, ...name] = line.split(' ');
    const embedding = new Float64Array(readFileSync(join(directory, `sklearn-${index}.f64`)).buffer.slice(0));
    row(`scikit-learn ${name.join(' ')}`, embedding, seconds);
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}

/**
 * A P of one entry, p_01 = 1: the objective's KL is then log(Z / w_01), and off points 0 and 1
 * its gradient is the normalised repulsion alone, -4 sum_j w_ij^2 (y_i - y_j) / Z.
 */
function probeAffinities(): SparseAffinities {
  const indptr = new Int32Array(n + 1).fill(1);
  indptr[0] = 0;
  return { n, indptr, indices: Int32Array.of(1), values: Float64Array.of(1) };
}
const probe = probeAffinities();
const objectives = { exact: exactObjective(probe), fft: interpolationObjective(probe), barnes_hut: barnesHutObjective(probe) };
console.log('\n| iteration (FFT run, first seed) | gradient | Z / exact Z - 1 | repulsion / exact - 1 |\n|---|---|---|---|');
for (const { iteration, embedding } of snapshots) {
  const w01 = 1 / (1 + (embedding[0] - embedding[2]) ** 2 + (embedding[1] - embedding[3]) ** 2);
  const measured = Object.fromEntries(
    Object.entries(objectives).map(([name, { objective }]) => {
      const gradient = new Float64Array(2 * n);
      const z = w01 * Math.exp(objective(embedding, gradient, 1, true));
      return [name, { gradient, z }];
    }),
  );
  const exact = measured.exact;
  for (const name of ['fft', 'barnes_hut']) {
    const { gradient, z } = measured[name];
    let along = 0;
    let norm = 0;
    for (let t = 4; t < 2 * n; t++) {
      along += gradient[t] * exact.gradient[t];
      norm += exact.gradient[t] ** 2;
    }
    console.log(`| ${iteration} | ${name} | ${(z / exact.z - 1).toExponential(2)} | ${(along / norm - 1).toExponential(2)} |`);
  }
}
for (const { release } of Object.values(objectives)) release();
