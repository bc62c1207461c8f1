import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVector, Table, tableToIPC, type Vector } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { featureTable } from '../../../lib/io/arrowTensors.js';
import { datasetDigest, openDataset, requireTwoClasses } from '../../../lib/io/datasets.js';
import type { Preprocessing } from '../../../lib/io/images.js';
import { contentDigest } from '../../../lib/store/artifacts.js';
import { FIXTURES, FOLDER, HF_DATASET, IMAGES, PARQUET, TRAIN, temporaryDir, VTAB_LIST } from '../../helpers/fixtures.js';

const digits: Preprocessing = { height: 16, width: 16, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], interpolation: 'bilinear' };

describe('openDataset', () => {
  it('serves preprocessed pixels as they are', async () => {
    const dataset = await openDataset(TRAIN, 768);
    expect(dataset).toMatchObject({ rows: 1000, needsPreprocessing: false });
    const batch = new Float32Array(2 * 768);
    await dataset.readBatch(0, 2, batch, null);
    // The first fixture image's corner is background (grey level 0): (0 - 0.5) / 0.5.
    expect(batch[0]).toBe(-1);
  });

  it('decodes PNG bytes to the same values as the pixels column', async () => {
    const [pixels, images] = await Promise.all([openDataset(TRAIN, 768), openDataset(IMAGES, 768)]);
    expect(images).toMatchObject({ rows: 64, needsPreprocessing: true });
    expect(images.labels).toEqual(pixels.labels.subarray(0, 64));
    const [a, b] = [new Float32Array(5 * 768), new Float32Array(5 * 768)];
    await pixels.readBatch(3, 5, a, null);
    await images.readBatch(3, 5, b, digits);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
  });

  it.each([
    ['a VTAB-1k file list', VTAB_LIST],
    ['a Parquet file as datasets writes it', PARQUET],
    ['a folder of Parquet shards', HF_DATASET],
    ['a shard pattern', join(HF_DATASET, 'data/train-*.parquet')],
  ])('decodes %s to the pixels column of the same images', async (_, path) => {
    const [pixels, dataset] = await Promise.all([openDataset(TRAIN, 768), openDataset(path, 768)]);
    expect(dataset).toMatchObject({ source: path, rows: 64, needsPreprocessing: true });
    expect(dataset.labels).toEqual(pixels.labels.subarray(0, 64));
    // Rows 30..39 cross a row group (16 rows) and, for the shards, the two files (32 rows each).
    const [a, b] = [new Float32Array(10 * 768), new Float32Array(10 * 768)];
    await pixels.readBatch(30, 10, a, null);
    await dataset.readBatch(30, 10, b, digits);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
  });

  it('names the list and the line of an image that does not decode', async () => {
    const dir = temporaryDir();
    copyFileSync(join(FOLDER, '2/000.png'), join(dir, 'good.png'));
    writeFileSync(join(dir, 'broken.png'), 'not a png');
    const list = join(dir, 'train800val200.txt');
    writeFileSync(list, 'good.png 0\ngood.png 1\nbroken.png 1\n');
    const dataset = await openDataset(list, 768);
    await expect(dataset.readBatch(0, 3, new Float32Array(3 * 768), digits)).rejects.toThrow(
      `${list}: line 3 (${join(dir, 'broken.png')}): cannot decode image`,
    );
  });

  it('refuses a non-finite pixel or a negative label when opened, naming the row', async () => {
    const dir = temporaryDir();
    const values = new Float32Array(3 * 768);
    values[768 + 5] = Number.NaN;
    const features = featureTable({ values, rows: 3, dim: 768, labels: Int32Array.from([0, 1, 1]) });
    const [feature, label] = [features.getChild('feature') as Vector, features.getChild('label') as Vector];
    const nan = join(dir, 'nan.arrow');
    writeFileSync(nan, tableToIPC(new Table({ pixels: feature, label }), 'file'));
    await expect(openDataset(nan, 768)).rejects.toThrow(`${nan}: row 1: column "pixels" has a non-finite value (NaN) at value 5`);
    const negative = join(dir, 'negative.arrow');
    writeFileSync(negative, tableToIPC(new Table({ pixels: feature, label: makeVector(Int32Array.from([0, 1, -3])) }), 'file'));
    await expect(openDataset(negative, 768)).rejects.toThrow(`${negative}: row 2: label -3 is not a class index (a non-negative integer)`);
    const parquet = join(FIXTURES, 'bad/parquet/negative_label.parquet');
    await expect(openDataset(parquet, 768)).rejects.toThrow(`${parquet}: row 2: label -3 is not a class index`);
  });

  it('reads an ImageFolder: one label per sorted subfolder', async () => {
    const dataset = await openDataset(FOLDER, 768);
    expect(dataset.rows).toBe(64);
    expect(Array.from(dataset.labels)).toEqual([...dataset.labels].sort((a, b) => a - b));
    expect(new Set(dataset.labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  it('names the problem and the path on bad datasets', async () => {
    await expect(openDataset('/nonexistent/data', 768)).rejects.toThrow('/nonexistent/data: dataset not found');
    const empty = temporaryDir();
    mkdirSync(join(empty, 'cats'));
    writeFileSync(join(empty, 'cats', 'notes.txt'), 'no images here');
    await expect(openDataset(empty, 768)).rejects.toThrow(`${empty}: no images found`);
    const oneClass = temporaryDir();
    mkdirSync(join(oneClass, 'only'));
    writeFileSync(join(oneClass, 'only', 'a.png'), '');
    await expect(openDataset(oneClass, 768)).rejects.toThrow(`${oneClass}: the dataset has one class (label 0)`);
    await expect(openDataset(TRAIN, 10)).rejects.toThrow(
      `${TRAIN}: column "pixels" holds 768 values per row, the model's input needs 10 (C*H*W)`,
    );
  });
});

describe('datasetDigest', () => {
  it('is the content digest of a file or folder, as artifact keys had it', async () => {
    expect(await datasetDigest(TRAIN)).toBe(await contentDigest(TRAIN));
    expect(await datasetDigest(HF_DATASET)).toBe(await contentDigest(HF_DATASET));
  });

  it("covers the images a file list names and a pattern's shards", async () => {
    const dir = temporaryDir();
    cpSync(join(FIXTURES, 'digits/folder'), join(dir, 'folder'), { recursive: true });
    const list = join(dir, 'vtab.txt');
    writeFileSync(list, readFileSync(VTAB_LIST));
    const before = await datasetDigest(list);
    expect(before).not.toBe(await contentDigest(list));
    // Same list text, one image it names changed (a new mtime and content).
    writeFileSync(join(dir, 'folder/2/000.png'), readFileSync(join(FOLDER, '8/001.png')));
    expect(await datasetDigest(list)).not.toBe(before);
    const shards = join(HF_DATASET, 'data/train-*.parquet');
    expect(await datasetDigest(shards)).toMatch(/^[0-9a-f]{64}$/);
    expect(await datasetDigest(shards)).not.toBe(await datasetDigest(join(HF_DATASET, 'data/train-00000-*.parquet')));
  });
});

describe('requireTwoClasses', () => {
  it('accepts two or more classes and names the source otherwise', () => {
    expect(() => requireTwoClasses(Int32Array.from([3, 3, 4]), 'd')).not.toThrow();
    expect(() => requireTwoClasses(Int32Array.from([3, 3]), 'd.arrow')).toThrow('d.arrow: the dataset has one class (label 3)');
    expect(() => requireTwoClasses(new Int32Array(0), 'e.arrow')).toThrow('e.arrow: the dataset is empty');
  });
});
