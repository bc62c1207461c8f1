/**
 * Feature extraction: one forward pass of the dataset through an ONNX ViT that returns the CLS
 * token (index 0) of every block's output, taken inside the graph, one Arrow file per layer.
 */
import { freemem } from 'node:os';
import { join } from 'node:path';
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { writeFeatures } from '../io/arrowTensors.js';
import { type ImageDataset, openDataset } from '../io/datasets.js';
import type { Preprocessing } from '../io/images.js';
import { type BlockLayout, blockLayout } from '../onnx/blocks.js';
import type { ModelOptions } from '../onnx/inference.js';
import { type ImageInput, imageInput, loadModel, preprocessingFor } from '../onnx/model.js';
import { createSession, type ExecutionProvider } from '../onnx/session.js';
import { type ClsOutputs, exposeClsTokens } from '../onnx/surgery.js';
import { writeFileAtomic } from '../store/atomicWrite.js';

export type { ExecutionProvider } from '../onnx/session.js';

export interface ExtractOptions extends ModelOptions {
  executionProvider?: ExecutionProvider;
  onBatch?: (rowsDone: number, rowsTotal: number) => void;
}

export interface ExtractSummary {
  layers: number;
  rows: number;
  dim: number;
  /** Layer file names inside the output directory, block 1 first. */
  files: string[];
  /**
   * Steady state: after an untimed warm-up run, the images of batches 2..B over their wall time
   * (decoding overlapped); all images over all batches when there is one batch.
   */
  imagesPerSecond: number;
  blockOutputs: string[];
}

/** The layer file name: two-digit layer numbers, 1 = first block. */
export function layerFileName(layer: number): string {
  return `layer-${String(layer).padStart(2, '0')}.arrow`;
}

export const EXTRACT_SUMMARY_FILE = 'extract.json';

/**
 * The largest batch extraction picks by itself, per execution provider. Measured on ViT-B/16 with
 * the CLS tokens taken in the graph: on a CPU (2 cores), 10.4 to 10.8 images/s at batches 8 and 16,
 * 9.1 at 32, 8.6 at 64 and 8.3 at 128 (bench/extractBatch.ts), each image of batch holding about
 * 43 MB; `sls extract --ep cuda` on an H200 gave 1,881 images/s at batch 32, 2,015 at 64, 2,009 at
 * 128 and 1,835 at 256 (gpu-check).
 */
export const MAX_AUTO_BATCH: Readonly<Record<ExecutionProvider, number>> = { cpu: 16, cuda: 64 };

/**
 * The runtime's memory for one image of batch, in block outputs (tokens x dim float32): what the
 * arena holds for the activations of a forward pass (attention scores included), measured for
 * ViT-B/16 at 224 x 224 on the CPU as the process's resident memory that a run adds, per image:
 * 43.0 to 43.6 MB at batches 8 to 128 (bench/extractBatch.ts), 72 block outputs of 605 KB.
 * Attention scores grow as tokens squared: a model with several times ViT-B/16's 197 tokens takes
 * more than this, which the margin of batchSizeForMemory (a quarter of free memory) absorbs. On
 * a GPU these activations lie in device memory: host memory then bounds the batch conservatively.
 */
export const WORKING_SET_BLOCK_OUTPUTS = 72;

/** A block output's shape, for one image: tokens x dim. */
export interface BlockShape {
  tokens: number;
  dim: number;
}

/**
 * The bytes one image of a batch takes while it runs: the runtime's working set (a multiple of
 * one block output, whatever the number of blocks: the arena reuses a block's buffers in the
 * next) and the CLS features handed back, dim values a block.
 */
export function bytesPerImage({ tokens, dim }: BlockShape, blocks: number): number {
  return 4 * (WORKING_SET_BLOCK_OUTPUTS * tokens * dim + blocks * dim);
}

/**
 * The batch size that fits memory: a quarter of the free memory over the bytes of one image
 * (bytesPerImage), at most `largest` (MAX_AUTO_BATCH of the provider), at least 1.
 */
export function batchSizeForMemory(imageBytes: number, freeBytes: number, largest: number): number {
  const fits = Math.floor(freeBytes / 4 / imageBytes);
  return Math.max(1, Math.min(largest, fits));
}

function blockShapeError(modelPath: string, layer: number, name: string, dims: readonly number[], expected: string): InputError {
  return new InputError(modelPath, `block ${layer + 1} output "${name}" has shape [${dims.join(', ')}], expected ${expected}`);
}

/**
 * One untimed run on the first image (its allocations and kernel choices are not steady state);
 * checks that every block output is [batch, tokens, dim] and returns its shape for one image,
 * which sizes the batches.
 */
async function warmUp(
  session: InferenceSession,
  dataset: ImageDataset,
  input: ImageInput,
  layout: BlockLayout,
  outputs: ClsOutputs,
  preprocessing: Preprocessing | null,
  modelPath: string,
): Promise<BlockShape> {
  const rows = input.fixedBatch ?? 1;
  const images = new Float32Array(rows * input.channels * input.height * input.width);
  await dataset.readBatch(0, 1, images, preprocessing);
  const results = await session.run({ [input.name]: new Tensor('float32', images, [rows, input.channels, input.height, input.width]) }, [
    ...outputs.cls,
    ...outputs.shapes,
  ]);
  const shapes = outputs.shapes.map((name) => Array.from(results[name].data as BigInt64Array, Number));
  shapes.forEach((dims, layer) => {
    if (dims.length !== 3 || dims[0] !== rows || dims[1] < 1) {
      throw blockShapeError(modelPath, layer, layout.blockOutputs[layer], dims, '[batch, tokens, dim]');
    }
  });
  const largest = shapes.reduce((top, dims) => (dims[1] * dims[2] > top[1] * top[2] ? dims : top));
  return { tokens: largest[1], dim: largest[2] };
}

export async function extractFeatures(
  modelPath: string,
  dataPath: string,
  outDir: string,
  options: ExtractOptions = {},
): Promise<ExtractSummary> {
  const model = await loadModel(modelPath);
  const layout = blockLayout(model, modelPath, options.blockOutputs);
  const input = imageInput(model, modelPath);
  const valuesPerImage = input.channels * input.height * input.width;
  const dataset = await openDataset(dataPath, valuesPerImage);
  const preprocessing = dataset.needsPreprocessing ? preprocessingFor(model, input, modelPath, options) : null;
  const provider = options.executionProvider ?? 'cpu';
  const outputs = exposeClsTokens(model, layout.blockOutputs);
  const session = await createSession(outputs.model, provider, modelPath);
  let cls: Float32Array[];
  let imagesPerSecond: number;
  try {
    const shape = await warmUp(session, dataset, input, layout, outputs, preprocessing, modelPath);
    const imageBytes = bytesPerImage(shape, layout.blockOutputs.length);
    const batchSize = input.fixedBatch ?? options.batchSize ?? batchSizeForMemory(imageBytes, freemem(), MAX_AUTO_BATCH[provider]);
    // The first batch at full size still grows the runtime's memory arena: time from its end.
    let timed = { rows: dataset.rows, from: performance.now() };
    const onBatch = (rowsDone: number, rowsTotal: number) => {
      if (rowsDone === Math.min(batchSize, rowsTotal) && rowsDone < rowsTotal)
        timed = { rows: rowsTotal - rowsDone, from: performance.now() };
      options.onBatch?.(rowsDone, rowsTotal);
    };
    cls = await runBatches(session, dataset, input, layout, outputs, batchSize, preprocessing, onBatch, modelPath);
    imagesPerSecond = timed.rows / ((performance.now() - timed.from) / 1000);
  } finally {
    await session.release();
  }

  const files = layout.blockOutputs.map((_, index) => layerFileName(index + 1));
  const dim = cls[0].length / dataset.rows;
  for (const [index, values] of cls.entries()) {
    await writeFeatures(join(outDir, files[index]), { values, rows: dataset.rows, dim, labels: dataset.labels });
  }
  const summary: ExtractSummary = {
    layers: files.length,
    rows: dataset.rows,
    dim,
    files,
    imagesPerSecond,
    blockOutputs: layout.blockOutputs,
  };
  await writeFileAtomic(join(outDir, EXTRACT_SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** Runs the dataset in batches; the next batch is decoded while the current one runs. */
async function runBatches(
  session: InferenceSession,
  dataset: ImageDataset,
  input: ImageInput,
  layout: BlockLayout,
  outputs: ClsOutputs,
  batchSize: number,
  preprocessing: Preprocessing | null,
  onBatch: ExtractOptions['onBatch'],
  modelPath: string,
): Promise<Float32Array[]> {
  const valuesPerImage = input.channels * input.height * input.width;
  const buffers = [new Float32Array(batchSize * valuesPerImage), new Float32Array(batchSize * valuesPerImage)];
  const cls: Float32Array[] = [];
  const load = (start: number, buffer: Float32Array) =>
    dataset.readBatch(start, Math.min(batchSize, dataset.rows - start), buffer, preprocessing);
  let pending = load(0, buffers[0]);
  for (let start = 0, turn = 0; start < dataset.rows; start += batchSize, turn ^= 1) {
    await pending;
    const count = Math.min(batchSize, dataset.rows - start);
    const next = start + batchSize;
    if (next < dataset.rows) {
      pending = load(next, buffers[turn ^ 1]);
      // Its failure is raised by the await at the top of the next turn, not as unhandled.
      pending.catch(() => undefined);
    }
    // A fixed-batch export needs full batches: the tail is padded and its extra rows dropped.
    const rowsInTensor = input.fixedBatch ?? count;
    const data = buffers[turn].subarray(0, rowsInTensor * valuesPerImage);
    const feeds = { [input.name]: new Tensor('float32', data, [rowsInTensor, input.channels, input.height, input.width]) };
    const results = await session.run(feeds, outputs.cls);
    outputs.cls.forEach((name, layer) => {
      const output = results[name];
      const [rows, dim] = output.dims;
      if (output.dims.length !== 2 || rows !== rowsInTensor) {
        throw blockShapeError(modelPath, layer, layout.blockOutputs[layer], output.dims, '[batch, dim] for its CLS token');
      }
      if (cls[layer] === undefined) cls[layer] = new Float32Array(dataset.rows * dim);
      // Rows beyond count pad a fixed-batch export's tail.
      cls[layer].set((output.data as Float32Array).subarray(0, count * dim), start * dim);
    });
    onBatch?.(start + count, dataset.rows);
  }
  return cls;
}
