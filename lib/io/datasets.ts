/**
 * The labelled image sets the extract step reads: an Arrow file of preprocessed `pixels`, an
 * Arrow file of encoded `image` bytes, an ImageFolder directory (one subfolder per class), a
 * VTAB-1k file list (.txt) or a Hugging Face Parquet dataset (a file, a folder of shards or a
 * shard pattern). Labels and pixels are checked when the dataset is opened, before any pass.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { DataType, type Table } from 'apache-arrow';
import { InputError } from '../errors.js';
import { contentDigest } from '../store/artifacts.js';
import { readArrowTable, readFloatRows, readLabels } from './arrowTensors.js';
import { readFileList } from './fileList.js';
import { decodeImageInto, type Preprocessing } from './images.js';
import { openParquetImages, parquetShards } from './parquet.js';

export interface ImageDataset {
  source: string;
  rows: number;
  labels: Int32Array;
  /** True when rows are encoded images that need mean/std; false for preprocessed pixels. */
  needsPreprocessing: boolean;
  /** Fills out[0 .. count*C*H*W) with rows start..start+count-1 as CHW float32. */
  readBatch(start: number, count: number, out: Float32Array, preprocessing: Preprocessing | null): Promise<void>;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif']);

/** The SLS score needs at least two classes among the labels. */
export function requireTwoClasses(labels: Int32Array, source: string): void {
  const first = labels[0];
  if (labels.length === 0) throw new InputError(source, 'the dataset is empty');
  if (labels.every((label) => label === first)) {
    throw new InputError(source, `the dataset has one class (label ${first}); the silhouette score needs at least two`);
  }
}

/** Labels are class indices: a negative one is a mistake (often a "missing" marker), named by row. */
function requireClassIndices(labels: Int32Array, path: string): void {
  const row = labels.findIndex((label) => label < 0);
  if (row >= 0) throw new InputError(path, `row ${row}: label ${labels[row]} is not a class index (a non-negative integer)`);
}

function pixelDataset(table: Table, path: string, labels: Int32Array, valuesPerImage: number): ImageDataset {
  const { values, dim } = readFloatRows(table, 'pixels', path);
  if (dim !== valuesPerImage) {
    throw new InputError(path, `column "pixels" holds ${dim} values per row, the model's input needs ${valuesPerImage} (C*H*W)`);
  }
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) {
    throw new InputError(
      path,
      `row ${Math.floor(bad / dim)}: column "pixels" has a non-finite value (${values[bad]}) at value ${bad % dim}`,
    );
  }
  return {
    source: path,
    rows: labels.length,
    labels,
    needsPreprocessing: false,
    async readBatch(start, count, out) {
      out.set(values.subarray(start * dim, (start + count) * dim));
    },
  };
}

function decodeAll(
  images: (index: number) => Promise<Uint8Array>,
  describe: (index: number) => string,
  valuesPerImage: number,
): ImageDataset['readBatch'] {
  return async (start, count, out, preprocessing) => {
    if (preprocessing === null) throw new Error('encoded images need preprocessing (mean, std, size)');
    await Promise.all(
      Array.from({ length: count }, async (_, offset) =>
        decodeImageInto(await images(start + offset), preprocessing, out, offset * valuesPerImage, describe(start + offset)),
      ),
    );
  };
}

function encodedDataset(table: Table, path: string, labels: Int32Array, valuesPerImage: number): ImageDataset {
  const column = table.getChild('image');
  if (column === null || !(DataType.isBinary(column.type) || DataType.isLargeBinary(column.type))) {
    throw new InputError(path, `column "image" must hold encoded image bytes (Binary), found ${column?.type}`);
  }
  return {
    source: path,
    rows: labels.length,
    labels,
    needsPreprocessing: true,
    readBatch: decodeAll(
      async (index) => {
        const bytes = column.get(index) as Uint8Array | null;
        if (bytes === null) throw new InputError(`${path}#${index}`, 'row has no image');
        return bytes;
      },
      (index) => `${path}#${index}`,
      valuesPerImage,
    ),
  };
}

async function imageFolder(path: string, valuesPerImage: number): Promise<ImageDataset> {
  const classes = (await readdir(path, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const files: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of classes.entries()) {
    const entries = (await readdir(join(path, name))).filter((file) => IMAGE_EXTENSIONS.has(extname(file).toLowerCase())).sort();
    for (const file of entries) {
      files.push(join(path, name, file));
      labels.push(label);
    }
  }
  if (files.length === 0) throw new InputError(path, 'no images found (expected one subfolder of images per class)');
  return {
    source: path,
    rows: files.length,
    labels: Int32Array.from(labels),
    needsPreprocessing: true,
    readBatch: decodeAll(
      (index) => readFile(files[index]),
      (index) => files[index],
      valuesPerImage,
    ),
  };
}

function isFileList(path: string): boolean {
  return extname(path).toLowerCase() === '.txt';
}

async function fileListDataset(path: string, valuesPerImage: number): Promise<ImageDataset> {
  const { files, labels, lines } = await readFileList(path);
  return {
    source: path,
    rows: files.length,
    labels,
    needsPreprocessing: true,
    readBatch: decodeAll(
      (index) =>
        readFile(files[index]).catch((error: NodeJS.ErrnoException) => {
          throw new InputError(path, `line ${lines[index]}: cannot read ${files[index]} (${error.code ?? error.message})`);
        }),
      (index) => `${path}: line ${lines[index]} (${files[index]})`,
      valuesPerImage,
    ),
  };
}

async function parquetDataset(path: string, shards: string[], valuesPerImage: number): Promise<ImageDataset> {
  const images = await openParquetImages(shards);
  return {
    source: path,
    rows: images.rows,
    labels: images.labels,
    needsPreprocessing: true,
    readBatch: decodeAll(images.image, images.describe, valuesPerImage),
  };
}

/**
 * The content identity of a dataset, for artifact keys and sweep IDs: contentDigest of the file
 * or folder (unchanged for Arrow files and ImageFolders), of a pattern's shards, and for a file
 * list, of the list and every image it names (an edited image changes it).
 */
export async function datasetDigest(path: string): Promise<string> {
  const files = isFileList(path)
    ? [path, ...new Set((await readFileList(path)).files)]
    : basename(path).includes('*')
      ? ((await parquetShards(path)) as string[])
      : null;
  if (files === null) return contentDigest(path);
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${relative(dirname(path), file)}\0${await contentDigest(file)}\n`);
  return hash.digest('hex');
}

/** Opens a dataset for a model input of C*H*W values per image. */
export async function openDataset(path: string, valuesPerImage: number): Promise<ImageDataset> {
  const shards = await parquetShards(path);
  let isDirectory: boolean;
  try {
    isDirectory = shards === null && (await stat(path)).isDirectory();
  } catch {
    throw new InputError(path, 'dataset not found');
  }
  let dataset: ImageDataset;
  if (shards !== null) {
    dataset = await parquetDataset(path, shards, valuesPerImage);
  } else if (isDirectory) {
    dataset = await imageFolder(path, valuesPerImage);
  } else if (isFileList(path)) {
    dataset = await fileListDataset(path, valuesPerImage);
  } else {
    const table = await readArrowTable(path);
    const labels = readLabels(table, path);
    requireClassIndices(labels, path);
    if (table.getChild('pixels') !== null) dataset = pixelDataset(table, path, labels, valuesPerImage);
    else if (table.getChild('image') !== null) dataset = encodedDataset(table, path, labels, valuesPerImage);
    else throw new InputError(path, 'has neither a "pixels" nor an "image" column');
  }
  requireTwoClasses(dataset.labels, path);
  return dataset;
}
