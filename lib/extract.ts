/**
 * Feature extraction: one forward pass of the dataset through an ONNX ViT with every block's
 * output exposed, keeping the CLS token (index 0) of each block, one Arrow file per layer.
 */
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { writeFeatures } from './arrowTensors.js';
import { writeFileAtomic } from './atomicWrite.js';
import { type ImageDataset, openDataset } from './datasets.js';
import { InputError } from './errors.js';
import { type Interpolation, type Preprocessing, parseTriple } from './images.js';
import { type BlockLayout, blockLayout } from './onnx/blocks.js';
import { encodeModel, type ImageInput, imageInput, loadModel, type ModelProto, modelMetadata } from './onnx/model.js';
import { exposeTensors } from './onnx/surgery.js';

export type ExecutionProvider = 'cpu' | 'cuda';

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
  imagesPerSecond: number;
  blockOutputs: string[];
}

/** The layer file name: two-digit layer numbers, 1 = first block. */
export function layerFileName(layer: number): string {
  return `layer-${String(layer).padStart(2, '0')}.arrow`;
}

export const EXTRACT_SUMMARY_FILE = 'extract.json';

/** Mean/std/size for encoded images: flags first, then the model's metadata_props. */
export function preprocessingFor(model: ModelProto, input: ImageInput, path: string, options: ExtractOptions): Preprocessing {
  const metadata = modelMetadata(model);
  const mean = options.mean ?? metadata.mean ?? metadata.image_mean;
  const std = options.std ?? metadata.std ?? metadata.image_std;
  if (mean === undefined || std === undefined) {
    throw new InputError(
      path,
      'encoded images need a mean and std: pass --mean a,b,c --std a,b,c or store "mean"/"std" in the model metadata',
    );
  }
  const interpolation = (metadata.interpolation ?? 'bilinear') as Interpolation;
  if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation)) {
    throw new InputError(path, `metadata "interpolation" must be nearest, bilinear or bicubic, got "${interpolation}"`);
  }
  return { height: input.height, width: input.width, mean: parseTriple(mean, 'mean'), std: parseTriple(std, 'std'), interpolation };
}

async function createSession(model: ModelProto, provider: ExecutionProvider, path: string): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(encodeModel(model), {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    const message = (error as Error).message;
    if (provider === 'cuda') {
      throw new Error(
        `the CUDA execution provider is not available on this host (${message}); install with SLS_CUDA=1 bash infra/setup.sh on a host with CUDA, or use --ep cpu`,
      );
    }
    throw new InputError(path, `onnxruntime cannot load the model: ${message}`);
  }
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
  const batchSize = input.fixedBatch ?? options.batchSize ?? 32;
  const started = performance.now();
  const cls = await runBatches(session, dataset, input, layout, batchSize, preprocessing, options.onBatch, modelPath);
  const seconds = (performance.now() - started) / 1000;
  await session.release();

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
    imagesPerSecond: dataset.rows / seconds,
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
