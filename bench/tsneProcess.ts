/**
 * t-SNE as a user runs it, whole process against whole process: `sls embed layer.arrow` (Node
 * start, tsx, reading the Arrow file, the helper threads, writing the embedding) against a Python
 * process that imports scikit-learn, reads the same rows and runs `TSNE(random_state=0)`, and one
 * that runs openTSNE's FFT t-SNE, each timed from spawn to exit, the runs of the engines
 * interleaved ('sls embed barnes_hut': our Barnes-Hut gradient at every n, as scikit-learn's).
 * bench/tsne.ts times the engines inside their processes.
 *
 *   npx tsx bench/tsneProcess.ts [--sizes 1000,5000] [--shapes clustered,overlapping,outliers,curve] [--runs 3]
 *                                [--engines 'sls embed,sls embed barnes_hut,scikit-learn,openTSNE'] [--python .venv-fixtures/bin/python]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFeatures } from '../lib/io/arrowTensors.js';
import { median } from './measure.js';
import { generate, type ShapeName } from './tsneData.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    shapes: { type: 'string', default: 'clustered,overlapping,outliers,curve' },
    runs: { type: 'string', default: '3' },
    engines: { type: 'string', default: 'sls embed,scikit-learn,openTSNE' },
    python: {
      type: 'string',
      default: process.env.SLS_FIXTURE_PYTHON ?? join(import.meta.dirname, '..', '.venv-fixtures', 'bin', 'python'),
    },
  },
});

const PEER_SCRIPT = `
import sys
import numpy as np
engine, path, n, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
X = np.fromfile(path, dtype="<f4").reshape(n, d)
if engine == "sklearn":
    from sklearn.manifold import TSNE
    TSNE(random_state=0).fit_transform(X)
else:
    import os
    from openTSNE import TSNE
    TSNE(perplexity=30, early_exaggeration=12, early_exaggeration_iter=250, n_iter=750,
         negative_gradient_method="fft", initialization="pca", n_jobs=os.cpu_count(), random_state=0).fit(X)
`;
const SLS = join(import.meta.dirname, '..', 'bin', 'sls.mjs');
const ENGINES = ['sls embed', 'sls embed barnes_hut', 'scikit-learn', 'openTSNE'] as const;
type Engine = (typeof ENGINES)[number];
const engines = args.engines.split(',') as Engine[];
for (const engine of engines)
  if (!ENGINES.includes(engine)) throw new Error(`--engines: unknown engine "${engine}" (known: ${ENGINES.join(', ')})`);
if (!engines.includes('sls embed')) throw new Error("--engines must include 'sls embed', which the others are compared with");

/** Wall seconds from spawn to exit of `command`; fails loudly if it fails. */
function timeProcess(command: string, argv: string[]): number {
  const start = performance.now();
  // Passive OpenMP waits, as in bench/tsne.ts: spinning threads distort a shared machine.
  const result = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return seconds;
}

const scratch = mkdtempSync(join(tmpdir(), 'sls-tsne-process-'));
const runs = Number(args.runs);
const load = loadavg()[0];
const lines: string[] = [];
try {
  for (const shape of args.shapes.split(',') as ShapeName[]) {
    for (const n of args.sizes.split(',').map(Number)) {
      const { features, labels, d } = await generate(shape, n, 1);
      const arrow = join(scratch, `${shape}-${n}.arrow`);
      const raw = join(scratch, `${shape}-${n}.f32`);
      await writeFeatures(arrow, { rows: n, dim: d, values: features, labels });
      writeFileSync(raw, features);
      const slsEmbed = (...options: string[]): [string, string[]] => [
        process.execPath,
        [SLS, 'embed', arrow, '--out', join(scratch, 'out.arrow'), ...options],
      ];
      const command: Record<Engine, [string, string[]]> = {
        'sls embed': slsEmbed(),
        'sls embed barnes_hut': slsEmbed('--tsne-gradient', 'barnes_hut'),
        'scikit-learn': [args.python, ['-c', PEER_SCRIPT, 'sklearn', raw, String(n), String(d)]],
        openTSNE: [args.python, ['-c', PEER_SCRIPT, 'opentsne', raw, String(n), String(d)]],
      };
      const seconds = Object.fromEntries(engines.map((engine) => [engine, [] as number[]])) as Record<Engine, number[]>;
      for (let run = 0; run < runs; run++) for (const engine of engines) seconds[engine].push(timeProcess(...command[engine]));
      const ours = median(seconds['sls embed']);
      for (const engine of engines) {
        const runsText = seconds[engine].map((s) => s.toFixed(2)).join(', ');
        const ratio = engine === 'sls embed' ? '' : (ours / median(seconds[engine])).toFixed(2);
        lines.push(`| ${shape} | ${n} | ${engine} | ${median(seconds[engine]).toFixed(2)} | ${runsText} | ${ratio} |`);
      }
      console.error(`[bench] ${lines.slice(-engines.length).join('\n[bench] ')}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(
  `Whole processes, spawn to exit, each shape at its own dimension, perplexity 30, 1000 iterations; median of ${runs} runs; ` +
    `load average (1 min) ${load.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`,
);
console.log('| shape | n | engine | median wall s | runs (wall s) | sls embed / this |');
console.log('|---|---|---|---|---|---|');
for (const line of lines) console.log(line);
