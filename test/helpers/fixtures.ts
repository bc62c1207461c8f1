import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Field, FixedSizeList, Float32, makeData, makeVector, Table, tableToIPC } from 'apache-arrow';
import { SeededRandom } from '../../lib/embed/tsne/random.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const MODEL = join(FIXTURES, 'vit/model.onnx');
export const TRAIN = join(FIXTURES, 'digits/train.arrow');
export const TEST_SPLIT = join(FIXTURES, 'digits/test.arrow');
export const IMAGES = join(FIXTURES, 'digits/images.arrow');
export const FOLDER = join(FIXTURES, 'digits/folder');
/** The 64 images of IMAGES as users hold them (make_parquet_fixtures.py). */
export const VTAB_LIST = join(FIXTURES, 'digits/vtab.txt');
export const PARQUET = join(FIXTURES, 'digits/images.parquet');
export const HF_DATASET = join(FIXTURES, 'digits/hf');
export const NO_BLOCKS_MODEL = join(FIXTURES, 'bad/mlp.onnx');

/** PyTorch's outputs for the fixture model on the first rows of the train split (make_model_fixtures.py). */
export interface TorchReference {
  rows: number;
  blocks: number;
  hidden: number;
  cls: number[][];
  logits: number[];
  truncated_k: number;
  truncated_logits: number[];
  labels: number[];
}

export const REFERENCE: TorchReference = JSON.parse(readFileSync(join(FIXTURES, 'vit/reference.json'), 'utf8'));

/** scikit-learn's SC curve of the fixture ViT and the reference walk's cuts (make_sc_curve_fixtures.py). */
export const REFERENCE_CURVE: { scores: number[][]; cuts: Record<string, number> } = JSON.parse(
  readFileSync(join(FIXTURES, 'sklearn/sc_curve.json'), 'utf8'),
);
/** Scores of two t-SNE implementations on one layer differ by this much (DESIGN.md, issue 10's goal). */
export const SC_TOLERANCE = 0.02;

export function temporaryDir(prefix = 'sls-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The x and y columns of a t-SNE embedding laid out as (x0, y0, x1, y1, ...), as embedding files hold them. */
export function embeddingColumns(embedding: ArrayLike<number>): { x: Float64Array; y: Float64Array } {
  const n = embedding.length / 2;
  return {
    x: Float64Array.from({ length: n }, (_, row) => embedding[2 * row]),
    y: Float64Array.from({ length: n }, (_, row) => embedding[2 * row + 1]),
  };
}

/** Largest absolute difference between two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** |a - b| / |b| in the Euclidean norm. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let error = 0;
  let norm = 0;
  for (let t = 0; t < b.length; t++) {
    error += (a[t] - b[t]) ** 2;
    norm += b[t] ** 2;
  }
  return Math.sqrt(error / norm);
}

/** Whether two float64 arrays hold the same bits (NaNs and signed zeros included). */
export function sameBits(a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * `classes` Gaussian blobs of `perClass` points each (unit variance) in d dimensions, class c
 * shifted by 10 along axis c mod d; rows grouped by class.
 */
export function gaussianBlobs(perClass: number, classes: number, d: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const n = perClass * classes;
  const features = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = Math.floor(i / perClass);
    for (let a = 0; a < d; a++) features[i * d + a] = random.nextGaussian() + (a === labels[i] % d ? 10 : 0);
  }
  return { features, labels };
}

/** Writes a dataset Arrow file with a `pixels` FixedSizeList<Float32>[dim] column and labels. */
export function writePixelDataset(path: string, values: Float32Array, dim: number, labels: Int32Array): void {
  const child = makeData({ type: new Float32(), length: values.length, data: values });
  const pixels = makeVector(makeData({ type: new FixedSizeList(dim, new Field('item', new Float32())), length: labels.length, child }));
  writeFileSync(path, tableToIPC(new Table({ pixels, label: makeVector(labels) }), 'file'));
}
