/**
 * A content-addressed checkpoint store: checkpoints that share a pretrained backbone share its
 * weights on disk. Layout of the store directory:
 *   <name>.onnx            a checkpoint's graph, its own small tensors inline
 *   tensors/<sha256>       the raw bytes of one initialiser, named by their hash: ONNX external
 *                          data, referenced as "tensors/<sha256>" relative to the model file
 * A tensor that K checkpoints hold (a kept pretrained block's weight) is one file; a checkpoint
 * adds only the tensors that are its own (PETL weights, refit head). The models sit above the
 * tensors because onnxruntime refuses external data outside the model's directory.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type GraphProto, type ModelProto, onnx, saveModel, type TensorProto } from '../onnx/model.js';
import { contentDigest } from '../store/artifacts.js';
import { writeFileAtomic } from '../store/atomicWrite.js';

export const TENSOR_DIR = 'tensors';

/** Tensors smaller than this stay inline (onnx's convert_model_to_external_data uses 1 KiB too). */
export const DEFAULT_MIN_EXTERNAL_BYTES = 1024;

export interface StoredCheckpoint {
  /** The model file inside the store. */
  path: string;
  /** Bytes of the .onnx file itself. */
  modelBytes: number;
  /** Initialisers kept as external data, and their bytes (shared with other checkpoints or not). */
  externalTensors: number;
  externalBytes: number;
  /** The tensor files it references, each once. */
  tensorFiles: string[];
}

function externalReference(tensor: TensorProto, location: string, length: number): TensorProto {
  const { rawData: _, ...rest } = tensor;
  return {
    ...rest,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(length) },
    ],
  };
}

/** Whether a content-addressed file holds the bytes its name says (a damaged one must not be reused). */
async function holdsItsContent(file: string, sha256: string): Promise<boolean> {
  return contentDigest(file).then(
    (digest) => digest === sha256,
    () => false,
  );
}

/**
 * Writes the model at `path` (a file in the store directory: its final name, or a temporary one
 * while publishing), its initialisers of at least minBytes (held as raw data) as tensors/<sha256>
 * files beside it, written when absent or damaged. Each tensor file is written atomically before
 * the model that references it; writers racing on one write the same bytes.
 */
export async function storeCheckpoint(path: string, model: ModelProto, minBytes = DEFAULT_MIN_EXTERNAL_BYTES): Promise<StoredCheckpoint> {
  const graph = model.graph as GraphProto;
  let externalTensors = 0;
  let externalBytes = 0;
  const tensorFiles = new Set<string>();
  const initializer: TensorProto[] = [];
  for (const tensor of graph.initializer ?? []) {
    const bytes = tensor.rawData;
    if (!bytes || bytes.length < minBytes) {
      initializer.push(tensor);
      continue;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const location = `${TENSOR_DIR}/${sha256}`;
    const file = join(dirname(path), location);
    if (!tensorFiles.has(file) && !(await holdsItsContent(file, sha256))) await writeFileAtomic(file, bytes);
    tensorFiles.add(file);
    initializer.push(externalReference(tensor, location, bytes.length));
    externalTensors++;
    externalBytes += bytes.length;
  }
  await saveModel(path, { ...model, graph: { ...graph, initializer } });
  return { path, modelBytes: (await stat(path)).size, externalTensors, externalBytes, tensorFiles: [...tensorFiles] };
}

export interface StoreUsage {
  models: number;
  modelBytes: number;
  tensors: number;
  tensorBytes: number;
  /** Everything in the store: models, tensors and whatever else lies there (manifests). */
  totalBytes: number;
}

/** Bytes on disk of the store, by kind. */
export async function storeUsage(storeDir: string): Promise<StoreUsage> {
  const usage: StoreUsage = { models: 0, modelBytes: 0, tensors: 0, tensorBytes: 0, totalBytes: 0 };
  for (const entry of await readdir(storeDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const size = (await stat(join(entry.parentPath, entry.name))).size;
    usage.totalBytes += size;
    if (entry.name.endsWith('.onnx')) {
      usage.models++;
      usage.modelBytes += size;
    } else if (entry.parentPath === join(storeDir, TENSOR_DIR)) {
      usage.tensors++;
      usage.tensorBytes += size;
    }
  }
  return usage;
}
