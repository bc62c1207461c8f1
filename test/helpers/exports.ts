import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './fixtures.js';

export const EXPORTS = join(FIXTURES, 'exports');

/** PyTorch's side of one real-export fixture (export_fixtures.py, write_reference). */
export interface ExportReference {
  /** Rows of digits/train.arrow (and of digits/images.arrow) the features were computed on. */
  rows: number;
  blocks: number;
  hidden: number;
  /** cls[i - 1]: block i's CLS features, rows x hidden. */
  cls: number[][];
  /** The model's graph outputs on those rows. */
  outputs: Record<string, number[]>;
  /** Top block's CLS features with the preprocessing the model's metadata names. */
  metadata_top_cls: number[];
  external_data_files: string[];
  /** Python onnx's view of the node metadata: how many nodes carry it, and a few nodes' entries. */
  nodes_with_metadata: number;
  node_metadata: Record<string, Record<string, string>>;
}

export interface ExportFixture {
  name: string;
  model: string;
  reference: ExportReference;
}

/** Every exported fixture model: timm and Hugging Face, dynamo and TorchScript exporters. */
export const EXPORT_FIXTURES: ExportFixture[] = readdirSync(EXPORTS)
  .sort()
  .map((name) => ({
    name,
    model: join(EXPORTS, name, 'model.onnx'),
    reference: JSON.parse(readFileSync(join(EXPORTS, name, 'reference.json'), 'utf8')),
  }));
