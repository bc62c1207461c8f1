/** Reading and writing ONNX models (protobuf), with errors that name the file. */
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import { writeFileAtomic } from '../atomicWrite.js';
import { InputError } from '../errors.js';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;

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

export async function loadModel(path: string): Promise<ModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'model file not found' : `cannot read model (${code})`);
  }
  return decodeModel(bytes, path);
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export async function saveModel(path: string, model: ModelProto): Promise<void> {
  await writeFileAtomic(path, encodeModel(model));
}

/** The model's metadata_props as a plain map. */
export function modelMetadata(model: ModelProto): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const prop of model.metadataProps ?? []) {
    if (prop.key) entries[prop.key] = prop.value ?? '';
  }
  return entries;
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
