/**
 * A real-size run: the whole `sls run` through Temporal (cli/pipeline.ts runPipeline, in-process
 * workers, a fresh artifact root so nothing is reused) on a ViT-B/16 with bottleneck adapters
 * (bench/make_vit_b16.py --adapters: 12 blocks, width 768, 224 x 224, random weights) and 1,000
 * scikit-learn digits upscaled to 224 x 224 (bench/e2e.py data), against the SLS reference walk on
 * the same model and images in the same run, first (bench/e2e.py reference: a PyTorch forward pass per
 * scored layer, scikit-learn TSNE and silhouette_score). Prints each stage's time, taken from the
 * workflow's history (activity scheduled / started / closed), the CPU seconds and the host's load,
 * and the ratio to the reference.
 *
 * The reference's forward pass is timed once (it yields every block's CLS token): the reference
 * walk runs one per scored layer, so its total counts it once per layer; this is an extrapolation
 * from one measured pass and the output says so. Its t-SNE and score are measured for each layer
 * in --reference-layers (all 12 by default).
 *
 *   flock /tmp/bench.lock npx tsx bench/e2e.ts [--n 1000] [--eval-n 200] [--alpha 0.3] [--reference-layers 12,11,...]
 *     [--python .venv-fixtures/bin/python] [--emit-phases]
 *
 * --emit-phases re-runs emit outside Temporal afterwards (same inputs, the run's block-k features,
 * a scratch store) and times its passes (refit, accuracy passes, speed) from its progress reports;
 * the history only has emit as one activity.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runPipeline } from '../cli/pipeline.js';
import { emitCheckpoint } from '../lib/emit/emit.js';
import { layerFileName } from '../lib/extract/extract.js';
import { temporalConfig } from '../workers/config.js';
import { activityHistory, cpuSeconds, secondsByActivityType } from './measure.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    'eval-n': { type: 'string', default: '200' },
    alpha: { type: 'string', default: '0.3' },
    seed: { type: 'string', default: '0' },
    'reference-layers': { type: 'string', default: '12,11,10,9,8,7,6,5,4,3,2,1' },
    python: { type: 'string', default: process.env.SLS_FIXTURE_PYTHON ?? '.venv-fixtures/bin/python' },
    'emit-phases': { type: 'boolean', default: false },
  },
});
const [n, evalN, seed] = [Number(args.n), Number(args['eval-n']), Number(args.seed)];
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const CACHE = resolve(BENCH, '..', '.sls', 'bench', 'e2e');
const MODEL_DIR = join(CACHE, 'vit-b16-adapters');
const MODEL = join(MODEL_DIR, 'model.onnx');
const DATA = join(CACHE, `digits-${n}.arrow`);
const EVAL = join(CACHE, `digits-${evalN}-from-${n}.arrow`);

function python(script: string, scriptArgs: string[]): string {
  const result = spawnSync(args.python, [join(BENCH, script), ...scriptArgs], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}

console.log(`model and images in ${CACHE} (made once)`);
python('make_vit_b16.py', [MODEL_DIR, '0', '--adapters']);
if (!existsSync(DATA)) python('e2e.py', ['data', DATA, String(n)]);
if (evalN > 0 && !existsSync(EVAL)) python('e2e.py', ['data', EVAL, String(evalN), String(n)]);

const load = [loadavg()];
console.log('\nreference walk (PyTorch + scikit-learn, same model and images)');
const reference = JSON.parse(
  python('e2e.py', ['reference', DATA, '--layers', args['reference-layers'], '--seed', String(seed)])
    .trim()
    .split('\n')
    .at(-1) ?? '{}',
) as {
  threads: number;
  forward: { wallS: number; cpuS: number };
  layers: Array<{ layer: number; sc: number; wallS: number; cpuS: number }>;
};
console.log(JSON.stringify(reference));
load.push(loadavg());

// A fresh artifact root and queues of its own: nothing reused, no other developer's worker takes
// this run's tasks.
const base = temporalConfig();
const artifactRoot = await mkdtemp(join(CACHE, 'artifacts-'));
const tag = artifactRoot.slice(-6);
const config = { ...base, artifactRoot, taskQueues: { gpu: `e2e-gpu-${tag}`, cpu: `e2e-cpu-${tag}` } };
const [wall, cpu] = [performance.now(), process.cpuUsage()];
const run = await runPipeline(config, {
  model: MODEL,
  data: DATA,
  evalData: evalN > 0 ? EVAL : undefined,
  datasetName: `e2e-digits-${n}`,
  alphas: args.alpha.split(',').map(Number),
  seed,
});
const pipeline = { wallS: (performance.now() - wall) / 1000, cpuS: cpuSeconds(cpu) };
load.push(loadavg());

const { spans, workflowStart, workflowEnd } = await activityHistory(config, run.workflowId, run.runId);

const seconds = (value: number) => `${value.toFixed(1)} s`;
const { result } = run;
console.log(
  `\nViT-B/16 + adapters (${result.scores.length} blocks, 224x224), ${n} training images, ${evalN} held out; ` +
    `${cpus().length} x ${cpus()[0].model}; load average (1, 5, 15 min) before / after the reference / after the pipeline: ` +
    load.map((l) => l.map((v) => v.toFixed(2)).join(', ')).join(' / '),
);
console.log(
  `\nsls run through Temporal: ${seconds(pipeline.wallS)} wall, ${seconds(pipeline.cpuS)} CPU (this process: client and workers)`,
);
console.log(`workflow history: ${seconds((workflowEnd - workflowStart) / 1000)} from start to close`);
console.log('| activity | input | queued | ran | scheduled at |\n|---|---|---:|---:|---:|');
for (const span of spans) {
  const input = span.input as { layer?: number; decision?: { keptBlocks: number; alpha: number } };
  const what =
    input.layer !== undefined
      ? `layer ${input.layer}`
      : input.decision
        ? `keep ${input.decision.keptBlocks} (alpha ${input.decision.alpha})`
        : '';
  console.log(
    `| ${span.type} | ${what} | ${seconds((span.started - span.scheduled) / 1000)} | ${seconds((span.closed - span.started) / 1000)} | +${seconds((span.scheduled - workflowStart) / 1000)} |`,
  );
}
console.log(
  `sum of activity run times per type: ${[...secondsByActivityType(spans)].map(([type, s]) => `${type} ${seconds(s)}`).join(', ')}`,
);
console.log(`SC curve: ${result.scores.map((s) => (s === null ? '-' : s.toFixed(3))).join(' ')}`);
for (const decision of result.decisions) console.log(`alpha ${decision.alpha}: keep ${decision.keptBlocks} (${decision.reason})`);
for (const checkpoint of result.checkpoints) console.log(`checkpoint: ${JSON.stringify({ ...checkpoint, storeDir: undefined })}`);

const tsneWall = reference.layers.reduce((sum, layer) => sum + layer.wallS, 0);
const tsneCpu = reference.layers.reduce((sum, layer) => sum + layer.cpuS, 0);
const layers = reference.layers.length;
console.log(
  `\nreference (torch ${reference.threads} threads): forward pass ${seconds(reference.forward.wallS)} wall, ${seconds(reference.forward.cpuS)} CPU, measured once`,
);
console.log('| layer | SC (scikit-learn) | SC (sls) | t-SNE + score wall | CPU |\n|---:|---:|---:|---:|---:|');
for (const layer of reference.layers) {
  const ours = result.scores[layer.layer - 1];
  console.log(
    `| ${layer.layer} | ${layer.sc.toFixed(3)} | ${ours === null ? '-' : ours.toFixed(3)} | ${seconds(layer.wallS)} | ${seconds(layer.cpuS)} |`,
  );
}
const measured = reference.forward.wallS + tsneWall;
const perLayerForward = layers * reference.forward.wallS + tsneWall;
console.log(
  `reference, measured: one forward pass + ${layers} t-SNE = ${seconds(measured)} wall (${seconds(reference.forward.cpuS + tsneCpu)} CPU); ` +
    `ratio sls / reference ${(pipeline.wallS / measured).toFixed(3)}x`,
);
console.log(
  `reference as the SLS code walks (a forward pass per scored layer; EXTRAPOLATED: the one measured pass counted ${layers} times): ` +
    `${seconds(perLayerForward)} wall (${seconds(layers * reference.forward.cpuS + tsneCpu)} CPU); ratio sls / reference ${(pipeline.wallS / perLayerForward).toFixed(3)}x`,
);

if (args['emit-phases'] && result.checkpoints.length > 0) {
  // Emit again, outside Temporal, with a clock on its progress reports.
  const scratch = join(artifactRoot, 'emit-phases');
  await mkdir(join(scratch, 'tensors'), { recursive: true });
  const decision = result.decisions[0];
  // Each pass lasts from the previous one's last report (or the start) to its own last report.
  const started = performance.now();
  const phases = new Map<string, { from: number; last: number }>();
  let previousEnd = started;
  let current = '';
  await emitCheckpoint(
    MODEL,
    DATA,
    { model: join(scratch, 'model.onnx'), manifest: join(scratch, 'model.json'), name: 'model.onnx' },
    [decision],
    result.scores,
    {
      evalData: evalN > 0 ? EVAL : undefined,
      // As the workflow hands them to emit.
      trainFeatures: join(result.features.featuresDir, layerFileName(decision.keptBlocks)),
      onProgress: (step) => {
        const now = performance.now();
        if (step !== current) {
          previousEnd = phases.get(current)?.last ?? previousEnd;
          current = step;
        }
        const phase = phases.get(step) ?? { from: previousEnd, last: now };
        phase.last = now;
        phases.set(step, phase);
      },
    },
  );
  const total = (performance.now() - started) / 1000;
  console.log(
    `\nemit again outside Temporal (keep ${decision.keptBlocks}): ${seconds(total)}; by pass (from the previous pass's last progress report to its own):`,
  );
  for (const [step, { from, last }] of phases) console.log(`  ${step}: ${seconds((last - from) / 1000)}`);
}
await rm(artifactRoot, { recursive: true, force: true });
