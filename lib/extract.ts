/**
 * Feature extraction: one forward pass of the dataset through an ONNX ViT with every block's
 * output exposed, keeping the CLS token (index 0) of each block, one Arrow file per layer.
 */
import { freemem } from 'node:os';
import { join } from 'node:path';
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { writeFeatures } from './arrowTensors.js';
import { writeFileAtomic } from './atomicWrite.js';
import { type ImageDataset, openDataset } from './datasets.js';
import { InputError } from './errors.js';
import { type Preprocessing, type PreprocessingFlags, preprocessingFromMetadata } from './images.js';
import { type BlockLayout, blockLayout } from './onnx/blocks.js';
import { type ImageInput, imageInput, loadModel, type ModelProto, modelMetadata } from './onnx/model.js';
import { createSession, type ExecutionProvider } from './onnx/session.js';
import { exposeTensors } from './onnx/surgery.js';

export type { ExecutionProvider } from './onnx/session.js';

export interface ExtractOptions {
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  /** "a,b,c" overrides of the model's metadata, for encoded images. */
  mean?: string;
  std?: string;
  /** Tensor names of block outputs, for exports where discovery fails. */
  blockOutputs?: string[];
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

/** Preprocessing for encoded images: the model's input size; mean, std, resizing from the flags or its metadata. */
export function preprocessingFor(model: ModelProto, input: ImageInput, path: string, flags: PreprocessingFlags): Preprocessing {
  return preprocessingFromMetadata(modelMetadata(model), { height: input.height, width: input.width }, flags, path);
}

/** The largest batch extraction picks by itself: beyond it throughput no longer grows on a CPU or a GPU. */
export const MAX_AUTO_BATCH = 64;

/**
 * The batch size that fits memory: a quarter of the free memory, over three times the bytes of
 * one image's outputs (every block's [tokens, dim] is exposed, and the runtime's own activations
 * of about as much live beside the copy handed back), at most MAX_AUTO_BATCH, at least 1.
 */
export function batchSizeForMemory(outputBytesPerImage: number, freeBytes: number): number {
  const fits = Math.floor(freeBytes / 4 / (3 * outputBytesPerImage));
  return Math.max(1, Math.min(MAX_AUTO_BATCH, fits));
}

/**
 * One untimed run on the first image (its allocations and kernel choices are not steady state);
 * returns the bytes of one image's outputs, which size the batches.
 */
async function warmUp(
  session: InferenceSession,
  dataset: ImageDataset,
  input: ImageInput,
  layout: BlockLayout,
  preprocessing: Preprocessing | null,
): Promise<number> {
  const rows = input.fixedBatch ?? 1;
  const images = new Float32Array(rows * input.channels * input.height * input.width);
  await dataset.readBatch(0, 1, images, preprocessing);
  const results = await session.run(
    { [input.name]: new Tensor('float32', images, [rows, input.channels, input.height, input.width]) },
    layout.blockOutputs,
  );
  return layout.blockOutputs.reduce((bytes, name) => bytes + results[name].data.length * 4, 0) / rows;
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
  const session = await createSession(exposeTensors(model, layout.blockOutputs), options.executionProvider ?? 'cpu', modelPath);
  let cls: Float32Array[];
  let imagesPerSecond: number;
  try {
    const outputBytesPerImage = await warmUp(session, dataset, input, layout, preprocessing);
    const batchSize = input.fixedBatch ?? options.batchSize ?? batchSizeForMemory(outputBytesPerImage, freemem());
    // The first batch at full size still grows the runtime's memory arena: time from its end.
    let timed = { rows: dataset.rows, from: performance.now() };
    const onBatch = (rowsDone: number, rowsTotal: number) => {
      if (rowsDone === Math.min(batchSize, rowsTotal) && rowsDone < rowsTotal)
        timed = { rows: rowsTotal - rowsDone, from: performance.now() };
      options.onBatch?.(rowsDone, rowsTotal);
    };
    cls = await runBatches(session, dataset, input, layout, batchSize, preprocessing, onBatch, modelPath);
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
    const results = await session.run(feeds, layout.blockOutputs);
    layout.blockOutputs.forEach((name, layer) => {
      const output = results[name];
      const [rows, tokens, dim] = output.dims;
      if (output.dims.length !== 3 || rows !== rowsInTensor || tokens < 1) {
        throw new InputError(
          modelPath,
          `block ${layer + 1} output "${name}" has shape [${output.dims.join(', ')}], expected [batch, tokens, dim]`,
        );
      }
      if (cls[layer] === undefined) cls[layer] = new Float32Array(dataset.rows * dim);
      const values = output.data as Float32Array;
      for (let row = 0; row < count; row++) {
        cls[layer].set(values.subarray(row * tokens * dim, row * tokens * dim + dim), (start + row) * dim);
      }
    });
    onBatch?.(start + count, dataset.rows);
  }
  return cls;
}
