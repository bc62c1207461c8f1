/**
 * What repeats cost: the whole `sls run` through Temporal (cli/pipeline.ts runPipeline, in-process
 * workers) at R = 1, 3, 5 t-SNE seeds per layer, on two cases of 1,000 images:
 *   fixture  test/fixtures/vit (6 blocks, width 64) on the digits train split;
 *   vit12    12 blocks at ViT-Ti/16's geometry (bench/make_vit_b16.py --width 192: 224 x 224,
 *            random weights) on 1,000 scikit-learn digits upscaled to 224 x 224 (bench/e2e.py data).
 * Each case's features are extracted once beforehand (the extract activity, timed and printed
 * apart); every run then gets a fresh artifact root whose features/ links to them, so it reuses
 * only the features and embeds, scores and emits from nothing. The rounds run R = 1, 3, 5 in turn,
 * so a change in the host's load falls on every R alike.
 *
 * Prints per case and R: the t-SNEs the run made (its result's embeddings, none reused), the
 * layers it scored, t-SNEs per scored layer, the medians of wall and CPU seconds (this process:
 * client, workers and their threads) and of the seconds each activity type ran (from the workflow
 * history), and the host's load average before and after. "R repeats cost R t-SNEs per scored
 * layer and nothing else" holds when t-SNEs per layer = R and only embedLayer and scoreEmbedding
 * grow with R.
 *
 *   flock /tmp/bench.lock npx tsx bench/repeats.ts [--repeats 1,3,5] [--runs 3] [--cases fixture,vit12]
 *     [--alpha 0.3] [--seed 0] [--full-curve] [--width 192] [--python .venv-fixtures/bin/python]
 *
 * --full-curve scores every layer under every seed (`sls run --full-curve`): on vit12 the top
 * layer's SC is <= 0 (random weights), the rule keeps every block from SC_12 alone, and without
 * it the walk stops there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { type ExtractResult, extractLayerFeatures } from '../activities/extract.js';
import { connectOrStartLocal, runPipeline } from '../cli/pipeline.js';
import { temporalConfig } from '../workers/config.js';
import { activityHistory, cpuSeconds, median, secondsByActivityType } from './measure.js';

const { values: args } = parseArgs({
  options: {
    repeats: { type: 'string', default: '1,3,5' },
    runs: { type: 'string', default: '3' },
    cases: { type: 'string', default: 'fixture,vit12' },
    alpha: { type: 'string', default: '0.3' },
    seed: { type: 'string', default: '0' },
    width: { type: 'string', default: '192' },
    python: { type: 'string', default: process.env.SLS_FIXTURE_PYTHON ?? '.venv-fixtures/bin/python' },
    'full-curve': { type: 'boolean', default: false },
  },
});
const repeatCounts = args.repeats.split(',').map(Number);
const [runs, seed, alphas] = [Number(args.runs), Number(args.seed), args.alpha.split(',').map(Number)];
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const CACHE = resolve(BENCH, '..', '.sls', 'bench', 'repeats');
const FIXTURES = resolve(BENCH, '..', 'test', 'fixtures');
const ACTIVITY_TYPES = ['embedLayer', 'scoreEmbedding', 'extractLayerFeatures', 'emitPrunedCheckpoint'];

function python(script: string, scriptArgs: string[]): void {
  const result = spawnSync(args.python, [join(BENCH, script), ...scriptArgs], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}):\n${result.stderr}`);
}

interface Case {
  name: string;
  description: string;
  model: string;
  data: string;
}

function prepare(name: string): Case {
  if (name === 'fixture') {
    return {
      name,
      description: 'test/fixtures/vit (6 blocks, width 64), digits train split (1,000 rows)',
      model: join(FIXTURES, 'vit', 'model.onnx'),
      data: join(FIXTURES, 'digits', 'train.arrow'),
    };
  }
  if (name !== 'vit12') throw new Error(`unknown case ${name}: fixture or vit12`);
  const modelDir = join(CACHE, `vit12-width-${args.width}`);
  const data = join(CACHE, 'digits-1000.arrow');
  python('make_vit_b16.py', [modelDir, '0', '--width', args.width]);
  if (!existsSync(data)) python('e2e.py', ['data', data, '1000']);
  return {
    name,
    description: `12 blocks at width ${args.width} (bench/make_vit_b16.py --width ${args.width}, 224 x 224), 1,000 upscaled digits`,
    model: join(modelDir, 'model.onnx'),
    data,
  };
}

interface Measured {
  wallS: number;
  cpuS: number;
  tsnes: number;
  layersScored: number;
  activityS: Map<string, number>;
  /** The mean curve's SC_N: at or under 0 the rule keeps every block. */
  topScore: number;
  keptBlocks: number;
  stable?: boolean;
}

const base = temporalConfig();
await mkdir(CACHE, { recursive: true });
// The local server, started now when none answers, so that no timed run includes its start.
await (await connectOrStartLocal(base)).close();

/** One `sls run` on a fresh artifact root that holds only the case's features. */
async function measure(kase: Case, featuresRoot: string, repeats: number): Promise<Measured> {
  const artifactRoot = await mkdtemp(join(CACHE, 'run-'));
  await symlink(join(featuresRoot, 'features'), join(artifactRoot, 'features'));
  // Queues of its own: no other developer's worker takes this run's tasks.
  const tag = artifactRoot.slice(-6);
  const config = { ...base, artifactRoot, taskQueues: { gpu: `repeats-gpu-${tag}`, cpu: `repeats-cpu-${tag}` } };
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  const run = await runPipeline(config, {
    model: kase.model,
    data: kase.data,
    datasetName: `repeats-${kase.name}`,
    alphas,
    seed,
    // As `sls run` passes it: one repeat is today's input.
    repeats: repeats === 1 ? undefined : repeats,
    fullCurve: args['full-curve'] || undefined,
  });
  const [wallS, cpuS] = [(performance.now() - wall) / 1000, cpuSeconds(cpu)];
  const { result } = run;
  if (!result.reused.extract || result.reused.embed > 0 || result.reused.emit > 0) {
    throw new Error(`run ${run.workflowId} reused more or less than the features: ${JSON.stringify(result.reused)}`);
  }
  const { spans } = await activityHistory(config, run.workflowId, run.runId);
  await rm(artifactRoot, { recursive: true, force: true });
  return {
    wallS,
    cpuS,
    tsnes: result.embeddings.filter((embedding) => !embedding.reused).length,
    layersScored: new Set(result.embeddings.map((embedding) => embedding.layer)).size,
    activityS: secondsByActivityType(spans),
    topScore: result.scores.at(-1) ?? Number.NaN,
    keptBlocks: result.decisions[0].keptBlocks,
    stable: result.repeats?.stable,
  };
}

const loads = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
const fixed = (value: number) => value.toFixed(1);
/** One value when every run agrees, else all of them. */
const same = (values: Array<number | boolean | undefined>) =>
  new Set(values).size === 1 ? String(values[0] ?? '-') : values.map((value) => String(value ?? '-')).join('/');

console.log(
  `${cpus().length} x ${cpus()[0].model}; alpha ${alphas.join(',')}, seed ${seed}${args['full-curve'] ? ', every layer scored' : ''}; ` +
    `${runs} runs per R, medians`,
);
for (const kase of args.cases.split(',').map(prepare)) {
  const featuresRoot = await mkdtemp(join(CACHE, 'features-'));
  const loadBefore = loadavg();
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  const features: ExtractResult = await new MockActivityEnvironment().run(extractLayerFeatures, {
    model: kase.model,
    data: kase.data,
    artifactRoot: featuresRoot,
  });
  console.log(
    `\n${kase.name}: ${kase.description}; ${features.layerFiles.length} layers of ${features.rows} x ${features.dim}; ` +
      `extracted once beforehand in ${fixed((performance.now() - wall) / 1000)} s wall, ${fixed(cpuSeconds(cpu))} s CPU`,
  );
  const measured = new Map<number, Measured[]>(repeatCounts.map((repeats) => [repeats, []]));
  for (let round = 0; round < runs; round++) {
    for (const repeats of repeatCounts) measured.get(repeats)?.push(await measure(kase, featuresRoot, repeats));
  }
  await rm(featuresRoot, { recursive: true, force: true });
  console.log(`load average (1, 5, 15 min) before: ${loads(loadBefore)}; after: ${loads(loadavg())}`);
  console.log(
    `| R | t-SNEs | layers scored | t-SNEs / layer | wall s | CPU s | ${ACTIVITY_TYPES.map((type) => `${type} s`).join(' | ')} | SC_N | kept | stable |`,
  );
  console.log(`|---:|---:|---:|---:|---:|---:|${ACTIVITY_TYPES.map(() => '---:|').join('')}---:|---:|---|`);
  for (const [repeats, rows] of measured) {
    const ofRuns = (pick: (row: Measured) => number) => fixed(median(rows.map(pick)));
    const cells = [
      repeats,
      same(rows.map((row) => row.tsnes)),
      same(rows.map((row) => row.layersScored)),
      same(rows.map((row) => row.tsnes / row.layersScored)),
      ofRuns((row) => row.wallS),
      ofRuns((row) => row.cpuS),
      ...ACTIVITY_TYPES.map((type) => ofRuns((row) => row.activityS.get(type) ?? 0)),
      same(rows.map((row) => Number(row.topScore.toFixed(3)))),
      same(rows.map((row) => row.keptBlocks)),
      same(rows.map((row) => row.stable)),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}
