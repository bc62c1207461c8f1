/**
 * Running an ONNX model over a labelled image set and keeping whole per-image outputs (logits,
 * the head's input), for the head refit and the held-out accuracy.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { type ImageDataset, openDataset } from '../io/datasets.js';
import type { Preprocessing } from '../io/images.js';
import { type ImageInput, imageInput, type ModelProto, preprocessingFor } from './model.js';
import { sessionOptions } from './session.js';

/**
 * A session on a model file, for a checkpoint whose weights are external data beside it
 * (onnxruntime resolves them only for a model loaded by path); the options are extraction's.
 */
export async function openModelFile(path: string): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(path, sessionOptions('cpu'));
  } catch (error) {
    throw new InputError(path, `onnxruntime cannot load the model: ${(error as Error).message}`);
  }
}

export interface ImageOptions {
  batchSize?: number;
  /** "a,b,c" overrides of the model's metadata, for encoded images. */
  mean?: string;
  std?: string;
}

/** How a run reads its model and data; extraction and emit must see the model alike. */
export interface ModelOptions extends ImageOptions {
  /** Tensor names of block outputs, for exports where discovery fails. */
  blockOutputs?: string[];
}

/** A dataset opened for a model: its input, and the preprocessing its encoded images need. */
export interface ModelInputs {
  /** The model file, named in errors. */
  modelPath: string;
  input: ImageInput;
  dataset: ImageDataset;
  preprocessing: Preprocessing | null;
}

export async function openModelInputs(
  model: ModelProto,
  modelPath: string,
  dataPath: string,
  options: ImageOptions = {},
): Promise<ModelInputs> {
  const input = imageInput(model, modelPath);
  const dataset = await openDataset(dataPath, input.channels * input.height * input.width);
  const preprocessing = dataset.needsPreprocessing ? preprocessingFor(model, input, modelPath, options) : null;
  return { modelPath, input, dataset, preprocessing };
}

/** Rows start..start+count-1 of the dataset as one CHW float32 batch. */
export async function readImages({ input, dataset, preprocessing }: ModelInputs, start: number, count: number): Promise<Float32Array> {
  const images = new Float32Array(count * input.channels * input.height * input.width);
  await dataset.readBatch(start, count, images, preprocessing);
  return images;
}

export interface OutputRows {
  /** rows * dim values, row-major. */
  values: Float32Array;
  dim: number;
}

/** Every row's value of each named output ([batch, ...] flattened per row), in dataset order. */
export async function collectOutputs(
  session: InferenceSession,
  inputs: ModelInputs,
  outputs: readonly string[],
  options: ImageOptions & { onBatch?: (rowsDone: number, rowsTotal: number) => void } = {},
): Promise<Record<string, OutputRows>> {
  const { modelPath, input, dataset } = inputs;
  const batchSize = input.fixedBatch ?? options.batchSize ?? 32;
  const valuesPerImage = input.channels * input.height * input.width;
  const collected: Record<string, OutputRows> = {};
  for (let start = 0; start < dataset.rows; start += batchSize) {
    const count = Math.min(batchSize, dataset.rows - start);
    // A fixed-batch export needs full batches: the tail is padded and its extra rows dropped.
    const rowsInTensor = input.fixedBatch ?? count;
    const images = new Float32Array(rowsInTensor * valuesPerImage);
    await dataset.readBatch(start, count, images, inputs.preprocessing);
    const feeds = { [input.name]: new Tensor('float32', images, [rowsInTensor, input.channels, input.height, input.width]) };
    const results = await session.run(feeds, outputs as string[]);
    for (const name of outputs) {
      const output = results[name];
      if (output.dims[0] !== rowsInTensor || output.type !== 'float32') {
        throw new InputError(modelPath, `output "${name}" is ${output.type} [${output.dims.join(', ')}], expected float32 [batch, ...]`);
      }
      const dim = output.data.length / rowsInTensor;
      collected[name] ??= { values: new Float32Array(dataset.rows * dim), dim };
      collected[name].values.set((output.data as Float32Array).subarray(0, count * dim), start * dim);
    }
    options.onBatch?.(start + count, dataset.rows);
  }
  return collected;
}
