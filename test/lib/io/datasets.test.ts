import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset, requireTwoClasses } from '../../../lib/io/datasets.js';
import type { Preprocessing } from '../../../lib/io/images.js';
import { FOLDER, IMAGES, TRAIN, temporaryDir } from '../../helpers/fixtures.js';

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

describe('requireTwoClasses', () => {
  it('accepts two or more classes and names the source otherwise', () => {
    expect(() => requireTwoClasses(Int32Array.from([3, 3, 4]), 'd')).not.toThrow();
    expect(() => requireTwoClasses(Int32Array.from([3, 3]), 'd.arrow')).toThrow('d.arrow: the dataset has one class (label 3)');
    expect(() => requireTwoClasses(new Int32Array(0), 'e.arrow')).toThrow('e.arrow: the dataset is empty');
  });
});
