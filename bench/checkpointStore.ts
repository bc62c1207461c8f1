/**
 * Bytes on disk of K datasets' pruned checkpoints in the shared store, against K full models,
 * K pruned models as whole files, and DESIGN.md's formula (pretrained weights of the kept blocks
 * once, plus each dataset's own PETL weights, head and graph).
 *
 *   npx tsx bench/checkpointStore.ts [--datasets 4] [--cuts 3,4,2,5]
 *
 * The fixture has one adapted model; datasets 2..K are stand-ins that share its backbone and
 * differ in their adapters (the fixture's adapter weights scaled by 1 + 0.1 j). Each goes through
 * the real emit step (cut, head refit on the digits train split, store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decideCut } from '../lib/decide/cutRule.js';
import { storeUsage } from '../lib/emit/checkpointStore.js';
import { emitCheckpoint } from '../lib/emit/emit.js';
import { encodeModel, loadModel, type ModelProto, saveModel, type TensorProto } from '../lib/onnx/model.js';
import { replaceInitializers } from '../lib/onnx/surgery.js';

const { values: args } = parseArgs({
  options: { datasets: { type: 'string', default: '4' }, cuts: { type: 'string', default: '3,4,2,5' } },
});
const K = Number(args.datasets);
const cuts = args.cuts.split(',').map(Number);
const FIXTURES = new URL('../test/fixtures/', import.meta.url).pathname;
const MODEL = join(FIXTURES, 'vit/model.onnx');
const TRAIN = join(FIXTURES, 'digits/train.arrow');

/** The fixture with its adapters' weights scaled: another dataset's adaptation of the same backbone. */
function adaptedCopy(model: ModelProto, scale: number): ModelProto {
  const adapterInputs = new Set(
    (model.graph?.node ?? []).filter((node) => node.name?.includes('/adapter/')).flatMap((node) => node.input ?? []),
  );
  const scaled = (model.graph?.initializer ?? [])
    .filter((tensor) => adapterInputs.has(tensor.name as string))
    .map((tensor): TensorProto => {
      const values = new Float32Array(Uint8Array.from(tensor.rawData!).buffer).map((value) => value * scale);
      return { ...tensor, rawData: new Uint8Array(values.buffer) };
    });
  return replaceInitializers(model, scaled);
}

const contentKey = (tensor: TensorProto) => Buffer.from(tensor.rawData ?? []).toString('base64');

/** Cut k of N from a decision that keeps k: scores rising so that only SC_{k-1} falls under 0.3 SC_N. */
function scoresKeeping(k: number, blocks: number): number[] {
  return Array.from({ length: blocks }, (_, index) => (index === k - 2 ? 0.01 : 0.5));
}

const work = mkdtempSync(join(tmpdir(), 'sls-store-bench-'));
try {
  const fixture = await loadModel(MODEL);
  const store = join(work, 'store');
  const rows: string[] = [];
  let fullBytes = 0;
  let prunedBytes = 0;
  const sources: ModelProto[] = [];
  const pruned: ModelProto[] = [];
  for (let j = 0; j < K; j++) {
    const source = j === 0 ? fixture : adaptedCopy(fixture, 1 + 0.1 * j);
    const sourcePath = join(work, `dataset-${j + 1}.onnx`);
    await saveModel(sourcePath, source);
    const k = cuts[j % cuts.length];
    const scores = scoresKeeping(k, 6);
    const name = `dataset-${j + 1}`;
    const files = { model: join(store, `${name}.onnx`), manifest: join(store, `${name}.json`), name: `${name}.onnx` };
    const { manifest } = await emitCheckpoint(sourcePath, TRAIN, files, [decideCut(scores, 0.3)!], scores, {
      speed: { repeats: 1, warmup: 0 },
    });
    sources.push(source);
    pruned.push(await loadModel(join(store, manifest.checkpoint)));
    fullBytes += encodeModel(source).length;
    prunedBytes += encodeModel(pruned[j]).length;

    // The formula: tensors every dataset's model holds alike are pretrained, stored once over the
    // union of kept blocks; everything else in a checkpoint (PETL, head, graph) is its own.
    const shared = new Set((sources[0].graph?.initializer ?? []).map(contentKey));
    for (const other of sources.slice(1)) {
      const keys = new Set((other.graph?.initializer ?? []).map(contentKey));
      for (const key of shared) if (!keys.has(key)) shared.delete(key);
    }
    const pretrained = new Map<string, number>();
    let own = 0;
    for (const checkpoint of pruned) {
      let graphBytes = encodeModel(checkpoint).length;
      for (const tensor of checkpoint.graph?.initializer ?? []) {
        const bytes = tensor.rawData?.length ?? 0;
        graphBytes -= bytes;
        if (shared.has(contentKey(tensor))) pretrained.set(contentKey(tensor), bytes);
        else own += bytes;
      }
      own += graphBytes;
    }
    const formula = [...pretrained.values()].reduce((sum, bytes) => sum + bytes, 0) + own;
    const usage = await storeUsage(store);
    const onDisk = usage.modelBytes + usage.tensorBytes;
    rows.push(
      `| ${j + 1} | ${k} | ${fullBytes} | ${prunedBytes} | ${onDisk} (${usage.tensors} tensor files) | ${formula} | ${(onDisk / formula).toFixed(3)} | ${(onDisk / fullBytes).toFixed(3)} |`,
    );
  }
  process.stdout.write(
    [
      '| K | k of dataset K | K full models | K pruned, whole files | store on disk | formula | store / formula | store / full |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
