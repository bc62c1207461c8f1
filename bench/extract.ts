/**
 * Extraction throughput: the pipeline (lib/extract/extract.ts, onnxruntime-node) against onnxruntime's own
 * Python session on the same graph, and PyTorch eager, on the same ViT-B/16-sized model (random
 * weights, made and exported at benchmark time into .sls/bench/vit-b16/, not committed) and the
 * same images and batch size. Median images per second of several rounds, each engine once a
 * round, every engine warmed up first. One more row: the bare session on the graph that exposes
 * every block's whole output, as extraction ran before it took the CLS tokens inside the graph.
 * The goal: the pipeline within 5% of the bare session.
 *
 *   npx tsx bench/extract.ts [--n 32] [--batch 8] [--runs 3] [--python /work/fixvenv/bin/python]
 *
 * The Python side needs torch, transformers, onnxruntime and pyarrow (test/fixtures/requirements.txt).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tensor } from 'onnxruntime-node';
import { extractFeatures } from '../lib/extract/extract.js';
import { readArrowTable, readFloatRows } from '../lib/io/arrowTensors.js';
import { findBlocks } from '../lib/onnx/blocks.js';
import { loadModel, saveModel } from '../lib/onnx/model.js';
import { createSession } from '../lib/onnx/session.js';
import { exposeClsTokens, exposeTensors } from '../lib/onnx/surgery.js';
import { median } from './measure.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '32' },
    batch: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    python: { type: 'string', default: process.env.SLS_FIXTURE_PYTHON ?? '/work/fixvenv/bin/python' },
  },
});
const [n, batch, runs] = [Number(args.n), Number(args.batch), Number(args.runs)];
if (!(n > batch && batch >= 1 && runs >= 1)) throw new RangeError('need --n > --batch >= 1 and --runs >= 1: the first batch is not timed');
const BENCH = fileURLToPath(new URL('.', import.meta.url));
const CACHE = join(BENCH, '..', '.sls', 'bench', 'vit-b16');
const MODEL = join(CACHE, 'model.onnx');
const PIXELS = join(CACHE, `pixels-${n}.arrow`);
const EXPOSED = join(CACHE, 'exposed.onnx');

function python(script: string, scriptArgs: string[]): string {
  const result = spawnSync(args.python, [join(BENCH, script), ...scriptArgs], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}

console.log(`model and ${n} images in ${CACHE} (made once by bench/make_vit_b16.py)`);
python('make_vit_b16.py', [CACHE, String(n)]);

// The graph the pipeline runs (every block's CLS token taken in the graph), for the Python session
// to run too; and, for the bare session only, the graph that exposes every block's whole output
// [batch, tokens, dim] (what extraction ran before), to show what taking the CLS in the graph saves.
const model = await loadModel(MODEL);
const { blockOutputs } = findBlocks(model, MODEL);
const { model: exposed, cls: clsOutputs } = exposeClsTokens(model, blockOutputs);
await saveModel(EXPOSED, exposed);

// The peers load once and then time one pass per request, so that every round runs each engine
// once, back to back: drift in the host's load reaches all of them alike.
const peer = spawn(args.python, [join(BENCH, 'extract_peers.py'), EXPOSED, MODEL, PIXELS, String(batch), clsOutputs.join(',')], {
  stdio: ['pipe', 'pipe', 'ignore'],
});
const replies = createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
async function reply(): Promise<Record<string, unknown>> {
  const { value, done } = await replies.next();
  if (done) throw new Error(`extract_peers.py ended early (exit ${peer.exitCode}); run it by hand to see why`);
  return JSON.parse(value);
}
const ready = await reply();

const ENGINES = ['ort_same_graph', 'ort_logits', 'torch_eager'] as const;
interface Pass {
  images_per_second: number;
  cpu_seconds_per_image: number;
}
const passes: Record<'pipeline' | 'node_bare' | 'node_bare_whole' | (typeof ENGINES)[number], Pass[]> = {
  pipeline: [],
  node_bare: [],
  node_bare_whole: [],
  ort_same_graph: [],
  ort_logits: [],
  torch_eager: [],
};

// The bare session in this process: the same onnxruntime build and options as the pipeline, the
// images already in memory, nothing but session.run and the CLS rows copied out.
const bare = await createSession(exposed, 'cpu', MODEL);
const bareWhole = await createSession(exposeTensors(model, blockOutputs), 'cpu', MODEL);
const { values: allPixels } = readFloatRows(await readArrowTable(PIXELS), 'pixels', PIXELS);
const PER_IMAGE = 3 * 224 * 224;
const bareCls: Float32Array[] = [];
async function bareRun(start: number, whole: boolean): Promise<void> {
  const rows = Math.min(batch, n - start);
  const feeds = {
    pixel_values: new Tensor('float32', allPixels.subarray(start * PER_IMAGE, (start + rows) * PER_IMAGE), [rows, 3, 224, 224]),
  };
  if (!whole) {
    const results = await bare.run(feeds, clsOutputs);
    clsOutputs.forEach((name, layer) => {
      const [, dim] = results[name].dims;
      bareCls[layer] ??= new Float32Array(n * dim);
      bareCls[layer].set(results[name].data as Float32Array, start * dim);
    });
    return;
  }
  const results = await bareWhole.run(feeds, blockOutputs);
  blockOutputs.forEach((name, layer) => {
    const [, tokens, dim] = results[name].dims;
    const values = results[name].data as Float32Array;
    bareCls[layer] ??= new Float32Array(n * dim);
    for (let row = 0; row < rows; row++)
      bareCls[layer].set(values.subarray(row * tokens * dim, row * tokens * dim + dim), (start + row) * dim);
  });
}
async function barePass(whole: boolean): Promise<Pass> {
  await bareRun(0, whole);
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  for (let start = batch; start < n; start += batch) await bareRun(start, whole);
  const used = process.cpuUsage(cpu);
  return {
    images_per_second: (n - batch) / ((performance.now() - wall) / 1000),
    cpu_seconds_per_image: (used.user + used.system) / 1e6 / (n - batch),
  };
}
await bareRun(0, false);
await bareRun(0, true);
const endToEnd: number[] = [];
const load = [loadavg()[0]];
for (let run = 0; run < runs; run++) {
  // Timed from the end of the first batch to the end of the last, as the peers are, in wall and
  // CPU time (every thread of the process): on a shared host CPU time moves less.
  const window = { rows: 0, wall: 0, cpu: process.cpuUsage() };
  const started = performance.now();
  await extractFeatures(MODEL, PIXELS, join(CACHE, 'features'), {
    batchSize: batch,
    onBatch: (rowsDone, rowsTotal) => {
      if (window.rows === 0) Object.assign(window, { rows: rowsDone, wall: performance.now(), cpu: process.cpuUsage() });
      else if (rowsDone === rowsTotal) {
        const cpu = process.cpuUsage(window.cpu);
        const measured = rowsTotal - window.rows;
        passes.pipeline.push({
          images_per_second: measured / ((performance.now() - window.wall) / 1000),
          cpu_seconds_per_image: (cpu.user + cpu.system) / 1e6 / measured,
        });
      }
    },
  });
  endToEnd.push(n / ((performance.now() - started) / 1000));
  passes.node_bare.push(await barePass(false));
  passes.node_bare_whole.push(await barePass(true));
  for (const engine of ENGINES) {
    peer.stdin.write(`${engine}\n`);
    passes[engine].push((await reply()) as unknown as Pass);
  }
  load.push(loadavg()[0]);
}
peer.stdin.end();
await bare.release();
await bareWhole.release();

const rows: Array<[string, Pass[]]> = [
  ['sls extract (onnxruntime-node, lib/extract/extract.ts)', passes.pipeline],
  ['onnxruntime-node bare session, same graph', passes.node_bare],
  ["onnxruntime-node bare session, every block's whole output (extraction before the CLS was taken in the graph)", passes.node_bare_whole],
  ['onnxruntime Python session, same graph', passes.ort_same_graph],
  ['onnxruntime Python session, logits only', passes.ort_logits],
  ['PyTorch eager, hidden states', passes.torch_eager],
];
const wall = (list: Pass[]) => median(list.map((pass) => pass.images_per_second));
const cpu = (list: Pass[]) => median(list.map((pass) => pass.cpu_seconds_per_image));
const [bareWall, bareCpu] = [wall(passes.node_bare), cpu(passes.node_bare)];
console.log(
  `\nViT-B/16 (${blockOutputs.length} blocks, 224x224), ${n} images, batch ${batch}, median of ${runs} rounds, ` +
    `batches 2..${Math.ceil(n / batch)} timed; ${cpus().length} x ${cpus()[0].model}; ` +
    `torch ${ready.torch}, onnxruntime (Python) ${ready.onnxruntime}`,
);
console.log('| engine | images/s (wall) | each round | vs bare node | CPU s / image | vs bare node |\n|---|---:|---|---:|---:|---:|');
for (const [name, list] of rows) {
  const each = list.map((pass) => pass.images_per_second.toFixed(2)).join(', ');
  const wallVsBare = `${((wall(list) / bareWall - 1) * 100).toFixed(1)}%`;
  const cpuVsBare = `${((cpu(list) / bareCpu - 1) * 100).toFixed(1)}%`;
  console.log(`| ${name} | ${wall(list).toFixed(2)} | ${each} | ${wallVsBare} | ${cpu(list).toFixed(3)} | ${cpuVsBare} |`);
}
console.log(`sls extract end to end (model load, session, all batches, writing): ${median(endToEnd).toFixed(2)} images/s`);
for (const [name, list] of [
  ['onnxruntime-node', passes.node_bare],
  ['onnxruntime Python', passes.ort_same_graph],
] as const) {
  const overheadWall = (1 - wall(passes.pipeline) / wall(list)) * 100;
  const overheadCpu = (cpu(passes.pipeline) / cpu(list) - 1) * 100;
  console.log(
    `pipeline overhead over a bare ${name} session (goal < 5%): ${overheadWall.toFixed(1)}% in wall throughput, ${overheadCpu.toFixed(1)}% in CPU time per image`,
  );
}
const paired = passes.pipeline.map((pass, round) => pass.cpu_seconds_per_image / passes.node_bare[round].cpu_seconds_per_image - 1);
console.log(
  `pipeline over bare onnxruntime-node, CPU time, each round: ${paired.map((value) => `${(value * 100).toFixed(1)}%`).join(', ')}`,
);
console.log(`PyTorch vs onnxruntime, top block CLS: max abs diff ${(ready.torch_vs_ort_top_cls_max_abs_diff as number).toExponential(2)}`);
console.log(`1-minute load average at the start and after each round: ${load.map((value) => value.toFixed(2)).join(', ')}`);
