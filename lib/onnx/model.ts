/** Reading and writing ONNX models (protobuf), with errors that name the file. */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type onnxProto from 'onnx-proto';
import protobuf from 'protobufjs';
import { InputError } from '../errors.js';
import { type Preprocessing, type PreprocessingFlags, preprocessingFromMetadata } from '../io/images.js';
import { contentDigest } from '../store/artifacts.js';
import { writeFileAtomic } from '../store/atomicWrite.js';

/*
 * The schema. The onnx-proto package is compiled from ONNX 1.10's onnx.proto, which lacks fields
 * that current exporters write (NodeProto.metadata_props, where the dynamo exporter records each
 * node's module path; the metadata of graphs, values and tensors; ...). protobufjs drops fields its
 * schema does not know, on decode and so on re-encode. So the codec is built at load time from
 * onnx-ml.proto, copied verbatim from the onnx 1.23 Python package (the superset, ML types
 * included): every field a current exporter writes decodes and re-encodes. onnx-proto still gives
 * the TypeScript shapes; the fields it lacks and that we read are added below.
 */
const root = protobuf.parse(readFileSync(new URL('./onnx-ml.proto', import.meta.url), 'utf8')).root;

type Schema = typeof onnxProto.onnx;
export type StringStringEntryProto = onnxProto.onnx.IStringStringEntryProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type NodeProto = onnxProto.onnx.INodeProto & { metadataProps?: StringStringEntryProto[] | null };
export type GraphProto = Omit<onnxProto.onnx.IGraphProto, 'node'> & { node?: NodeProto[] | null };
export type ModelProto = Omit<onnxProto.onnx.IModelProto, 'graph'> & { graph?: GraphProto | null };

/** A message type of the schema: create, encode, decode, typed with its TypeScript shape. */
interface MessageType<T> {
  create(properties?: T): T;
  encode(message: T): protobuf.Writer;
  decode(bytes: Uint8Array): T;
}

function messageType<T>(name: string): MessageType<T> {
  return root.lookupType(`onnx.${name}`) as unknown as MessageType<T>;
}

export const onnx = {
  ModelProto: messageType<ModelProto>('ModelProto'),
  GraphProto: messageType<GraphProto>('GraphProto'),
  NodeProto: messageType<NodeProto>('NodeProto'),
  ValueInfoProto: messageType<ValueInfoProto>('ValueInfoProto'),
  StringStringEntryProto: messageType<StringStringEntryProto>('StringStringEntryProto'),
  TensorProto: {
    DataType: root.lookupEnum('onnx.TensorProto.DataType').values as unknown as Schema['TensorProto']['DataType'],
    DataLocation: root.lookupEnum('onnx.TensorProto.DataLocation').values as unknown as Schema['TensorProto']['DataLocation'],
  },
  AttributeProto: {
    AttributeType: root.lookupEnum('onnx.AttributeProto.AttributeType').values as unknown as Schema['AttributeProto']['AttributeType'],
  },
};

/** protobuf (and so onnxruntime from bytes) cannot hold a message of 2 GiB or more. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export function decodeModel(bytes: Uint8Array, path: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InputError(path, `not a readable ONNX model: ${(error as Error).message} (truncated or not ONNX?)`);
  }
  if (!model.graph?.node?.length) {
    throw new InputError(path, 'not an ONNX model: it holds no graph nodes');
  }
  return model;
}

/**
 * Reads a model and the weights it keeps in external data files beside it (as the dynamo exporter
 * writes them). The weights are read into the tensors, so the model in memory is whole: a session
 * can be built from its bytes (onnxruntime-node resolves external files only for a model loaded by
 * path), and a model cut from it and saved elsewhere references no file it cannot reach.
 */
export async function loadModel(path: string): Promise<ModelProto> {
  const model = decodeModel(await readModelFile(path, path, 'model file'), path);
  await inlineExternalData(model, path);
  return model;
}

async function readModelFile(file: string, model: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? `${what} not found` : `cannot read ${what} (${code})`;
    throw new InputError(file, file === model ? problem : `${problem} (external data of ${model})`);
  }
}

/** Bytes per element of the tensor types a ViT's weights come in. */
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

interface ExternalData {
  /** The data file, resolved against the model's directory. */
  file: string;
  offset: number;
  /** Null: to the end of the file. */
  length: number | null;
}

function externalTensors(model: ModelProto): TensorProto[] {
  return (model.graph?.initializer ?? []).filter((tensor) => tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
}

/** Where an external tensor's bytes lie (location, offset, length: ONNX's external data spec). */
function externalData(tensor: TensorProto, path: string): ExternalData {
  const entries = Object.fromEntries((tensor.externalData ?? []).map((entry) => [entry.key, entry.value ?? '']));
  const location = entries.location ?? '';
  // The spec keeps external files inside the model's directory; refuse paths that leave it.
  if (location === '' || isAbsolute(location) || normalize(location).startsWith('..')) {
    throw new InputError(path, `tensor "${tensor.name}" has an invalid external data location "${location}"`);
  }
  return {
    file: join(dirname(path), location),
    offset: Number(entries.offset ?? 0),
    length: entries.length === undefined ? null : Number(entries.length),
  };
}

/**
 * The files a model is made of: the .onnx file, then the external data files its tensors name.
 * A digest of the model must cover them all: a dynamo export's .onnx holds no weights.
 */
export async function modelFiles(path: string): Promise<string[]> {
  const model = decodeModel(await readModelFile(path, path, 'model file'), path);
  const files = new Set(externalTensors(model).map((tensor) => externalData(tensor, path).file));
  return [path, ...[...files].sort()];
}

/**
 * What determines a model's outputs: the sha256 of its file, combined with those of its external
 * data files when it has any (a dynamo export's .onnx alone holds no weights).
 */
export async function modelDigest(path: string): Promise<string> {
  // A file that is not a readable model is hashed as it is: the step that loads it reports why.
  const files = await modelFiles(path).catch(() => [path]);
  if (files.length === 1) return contentDigest(path);
  const digests = await Promise.all(files.map((file) => contentDigest(file)));
  return createHash('sha256').update(digests.join('\n')).digest('hex');
}

/** Reads each external initializer's bytes into the tensor. */
async function inlineExternalData(model: ModelProto, path: string): Promise<void> {
  const files = new Map<string, Buffer>();
  let total = 0;
  for (const tensor of externalTensors(model)) {
    const { file, offset, length: stated } = externalData(tensor, path);
    let data = files.get(file);
    if (data === undefined) {
      data = await readModelFile(file, path, 'external data file');
      files.set(file, data);
    }
    const length = stated ?? data.length - offset;
    if (!(offset >= 0 && length >= 0 && offset + length <= data.length)) {
      throw new InputError(
        file,
        `holds ${data.length} bytes, tensor "${tensor.name}" needs bytes ${offset}..${offset + length} (truncated?)`,
      );
    }
    const expected = elementCount(tensor.dims) * (ELEMENT_BYTES[tensor.dataType ?? 0] ?? 0);
    if (expected > 0 && expected !== length) {
      throw new InputError(file, `tensor "${tensor.name}" has ${length} bytes of external data, its shape needs ${expected}`);
    }
    total += length;
    tensor.rawData = data.subarray(offset, offset + length);
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    tensor.externalData = [];
  }
  if (total > PROTOBUF_LIMIT) {
    throw new InputError(path, `its weights take ${total} bytes; models of 2 GiB or more are not supported (protobuf limit)`);
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export async function saveModel(path: string, model: ModelProto): Promise<void> {
  await writeFileAtomic(path, encodeModel(model));
}

/** A list of key/value entries (model, node, tensor metadata_props) as a plain map. */
export function metadataMap(props: readonly StringStringEntryProto[] | null | undefined): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const prop of props ?? []) {
    if (prop.key) entries[prop.key] = prop.value ?? '';
  }
  return entries;
}

/** The model's metadata_props as a plain map. */
export function modelMetadata(model: ModelProto): Record<string, string> {
  return metadataMap(model.metadataProps);
}

export interface ImageInput {
  name: string;
  /** Null where the export left the batch dimension dynamic. */
  fixedBatch: number | null;
  channels: number;
  height: number;
  width: number;
}

/** The model's image input [batch, channels, height, width]; initialisers listed as inputs are skipped. */
export function imageInput(model: ModelProto, path: string): ImageInput {
  const graph = model.graph as GraphProto;
  const initialisers = new Set((graph.initializer ?? []).map((tensor) => tensor.name));
  const inputs = (graph.input ?? []).filter((input) => !initialisers.has(input.name));
  if (inputs.length !== 1) {
    throw new InputError(path, `expected one image input, found ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`);
  }
  const input = inputs[0];
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  const sizes = dims.map((dim) => (dim.dimParam ? 0 : int64(dim.dimValue)));
  if (sizes.length !== 4 || sizes.slice(1).some((size) => size <= 0)) {
    throw new InputError(
      path,
      `input "${input.name}" must be [batch, channels, height, width] with fixed C, H, W; found [${sizes.join(', ')}]`,
    );
  }
  return {
    name: input.name as string,
    fixedBatch: sizes[0] > 0 ? sizes[0] : null,
    channels: sizes[1],
    height: sizes[2],
    width: sizes[3],
  };
}

type Int64 = number | { toNumber(): number } | null | undefined;

/** protobufjs decodes int64 fields as Long objects (or numbers, once set by us). */
export function int64(value: Int64): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** The number of values in a tensor, from its dims. */
export function elementCount(dims: ReadonlyArray<Int64> | null | undefined): number {
  return (dims ?? []).reduce<number>((count, dim) => count * int64(dim), 1);
}

/** Preprocessing for encoded images: the model's input size; mean, std, resizing from the flags or its metadata. */
export function preprocessingFor(model: ModelProto, input: ImageInput, path: string, flags: PreprocessingFlags): Preprocessing {
  return preprocessingFromMetadata(modelMetadata(model), { height: input.height, width: input.width }, flags, path);
}
