/**
 * What a batch size costs and gains in extraction (the figures behind MAX_AUTO_BATCH and
 * WORKING_SET_BLOCK_OUTPUTS in lib/extract/extract.ts): for each batch size, in a fresh process, the graph
 * extraction runs (every block's CLS token taken inside the graph) on the ViT-B/16 of
 * bench/extract.ts, with the pipeline's session options. Reports images per second (median over
 * runs, after one untimed run) and the resident memory the runs added to the loaded session (the
 * runtime's arena keeps it), per image of batch; with --full, the same for the graph that exposes every block's
 * whole output [batch, tokens, dim].
 *
 *   npx tsx bench/extractBatch.ts [--batches 8,32,64,128] [--runs 3] [--full]
 *
 * Needs .sls/bench/vit-b16/model.onnx: run bench/extract.ts once first.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tensor } from 'onnxruntime-node';
import { findBlocks } from '../lib/onnx/blocks.js';
import { loadModel } from '../lib/onnx/model.js';
import { createSession } from '../lib/onnx/session.js';
import { exposeClsTokens, exposeTensors } from '../lib/onnx/surgery.js';
import { median } from './measure.js';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '8,32,64,128' },
    runs: { type: 'string', default: '3' },
    full: { type: 'boolean', default: false },
    child: { type: 'string' },
    graph: { type: 'string', default: 'cls' },
  },
});
const MODEL = join(fileURLToPath(new URL('.', import.meta.url)), '..', '.sls', 'bench', 'vit-b16', 'model.onnx');
const runs = Number(args.runs);

if (args.child !== undefined) {
  // One batch size, one graph, in this process: resident memory is not shared with another size's arena.
  const batch = Number(args.child);
  const model = await loadModel(MODEL);
  const { blockOutputs } = findBlocks(model, MODEL);
  const { model: graph, outputs } =
    args.graph === 'cls'
      ? (() => {
          const surgered = exposeClsTokens(model, blockOutputs);
          return { model: surgered.model, outputs: surgered.cls };
        })()
      : { model: exposeTensors(model, blockOutputs), outputs: blockOutputs };
  const session = await createSession(graph, 'cpu', MODEL);
  const pixels = Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i));
  const feeds = { pixel_values: new Tensor('float32', pixels, [batch, 3, 224, 224]) };
  const before = process.memoryUsage().rss;
  await session.run(feeds, outputs);
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await session.run(feeds, outputs);
    times.push(performance.now() - start);
  }
  // The CPU arena keeps what a run took: resident memory after the runs less before them.
  const after = process.memoryUsage().rss;
  await session.release();
  process.stdout.write(
    `${JSON.stringify({ batch, imagesPerSecond: batch / (median(times) / 1000), addedBytesPerImage: (after - before) / batch })}\n`,
  );
  process.exit(0);
}

const graphs = args.full ? ['cls', 'full'] : ['cls'];
console.log('| graph | batch | images/s (median) | memory added per image (MB) |\n|---|---:|---:|---:|');
for (const graph of graphs) {
  for (const batch of args.batches.split(',').map(Number)) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(batch), '--graph', graph, '--runs', String(runs)],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`batch ${batch} failed:\n${child.stderr}`);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
    console.log(`| ${graph} | ${batch} | ${result.imagesPerSecond.toFixed(2)} | ${(result.addedBytesPerImage / 1e6).toFixed(2)} |`);
  }
}
