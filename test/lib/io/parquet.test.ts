import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { openParquetImages, parquetShards } from '../../../lib/io/parquet.js';
import { FIXTURES, FOLDER, HF_DATASET, IMAGES, PARQUET, TRAIN, temporaryDir } from '../../helpers/fixtures.js';

/** The PNG bytes and labels pyarrow wrote into images.arrow, the source of every Parquet fixture. */
const source = tableFromIPC(readFileSync(IMAGES));
const pngs = Array.from({ length: source.numRows }, (_, row) => source.getChild('image')?.get(row) as Uint8Array);
const labels = Array.from(source.getChild('label')?.toArray() as Int32Array);
const SHARDS = [0, 1].map((index) => join(HF_DATASET, `data/train-0000${index}-of-00002.parquet`));
const BAD = join(FIXTURES, 'bad/parquet');

async function everyImage(images: Awaited<ReturnType<typeof openParquetImages>>): Promise<Uint8Array[]> {
  // Out of order, so rows are found across row groups and shards, not only in sequence.
  const order = Array.from({ length: images.rows }, (_, row) => (row * 37) % images.rows);
  const found: Uint8Array[] = [];
  for (const row of order) found[row] = await images.image(row);
  return found;
}

describe('parquetShards', () => {
  it('finds one file, a folder of shards at any depth, or a pattern, in name order', async () => {
    expect(await parquetShards(PARQUET)).toEqual([PARQUET]);
    expect(await parquetShards(HF_DATASET)).toEqual(SHARDS);
    expect(await parquetShards(join(HF_DATASET, 'data/train-*.parquet'))).toEqual(SHARDS);
  });

  it('is null for what is not Parquet', async () => {
    expect(await parquetShards(TRAIN)).toBeNull();
    expect(await parquetShards(FOLDER)).toBeNull();
    expect(await parquetShards('/nonexistent/data')).toBeNull();
  });

  it('asks for one split when a folder holds several, and names an empty pattern', async () => {
    const dir = temporaryDir();
    mkdirSync(join(dir, 'data'));
    copyFileSync(SHARDS[0], join(dir, 'data/train-00000-of-00001.parquet'));
    copyFileSync(SHARDS[1], join(dir, 'data/test-00000-of-00001.parquet'));
    await expect(parquetShards(dir)).rejects.toThrow(
      `${dir}: holds the shards of several splits (data/test, data/train); name one: a folder, a file, or a pattern such as ${dir}/data/test-*.parquet`,
    );
    expect(await parquetShards(join(dir, 'data/train-*.parquet'))).toEqual([join(dir, 'data/train-00000-of-00001.parquet')]);
    await expect(parquetShards(join(dir, 'data/val-*.parquet'))).rejects.toThrow('the pattern matches no .parquet files');
  });
});

describe('openParquetImages', () => {
  it('reads the image bytes and int64 labels datasets writes, across row groups', async () => {
    const images = await openParquetImages([PARQUET]);
    expect(images.rows).toBe(64);
    expect(Array.from(images.labels)).toEqual(labels);
    expect(await everyImage(images)).toEqual(pngs);
    expect(images.describe(17)).toBe(`${PARQUET}#17`);
  });

  it('reads shards (snappy and zstd) as one dataset in shard order', async () => {
    const images = await openParquetImages(SHARDS);
    expect(images.rows).toBe(64);
    expect(Array.from(images.labels)).toEqual(labels);
    expect(await everyImage(images)).toEqual(pngs);
    expect(images.describe(31)).toBe(`${SHARDS[0]}#31`);
    expect(images.describe(40)).toBe(`${SHARDS[1]}#8`);
  });

  it('names the file and the row of a bad label or image', async () => {
    await expect(openParquetImages([join(BAD, 'negative_label.parquet')])).rejects.toThrow(
      `${join(BAD, 'negative_label.parquet')}: row 2: label -3 is not a class index (a non-negative integer)`,
    );
    await expect(openParquetImages([join(BAD, 'float_label.parquet')])).rejects.toThrow(
      `${join(BAD, 'float_label.parquet')}: column "label" must be an integer (class index), found DOUBLE`,
    );
    const pathOnly = await openParquetImages([join(BAD, 'path_only.parquet')]);
    expect(await pathOnly.image(0)).toEqual(pngs[0]);
    await expect(pathOnly.image(1)).rejects.toThrow(
      `${join(BAD, 'path_only.parquet')}: row 1: the image holds only a path (/home/user/digits/001.png), not its bytes`,
    );
  });

  it('names files that are not Parquet or lack the columns', async () => {
    const dir = temporaryDir();
    const garbage = join(dir, 'garbage.parquet');
    writeFileSync(garbage, 'not parquet at all');
    await expect(openParquetImages([garbage])).rejects.toThrow(`${garbage}: cannot read as Parquet`);
    await expect(openParquetImages([join(BAD, 'no_label.parquet')])).rejects.toThrow(
      `${join(BAD, 'no_label.parquet')}: needs an "image" and a "label" column (columns: image)`,
    );
  });
});
