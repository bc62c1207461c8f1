import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../lib/errors.js';
import {
  batchSizeForMemory,
  bytesPerImage,
  type ExtractSummary,
  extractFeatures,
  layerFileName,
  MAX_AUTO_BATCH,
} from '../../../lib/extract/extract.js';
import { readFeatures, writeFeatures } from '../../../lib/io/arrowTensors.js';
import {
  FOLDER,
  IMAGES,
  MODEL,
  maxAbsDiff,
  NO_BLOCKS_MODEL,
  REFERENCE,
  TRAIN,
  temporaryDir,
  writePixelDataset,
} from '../../helpers/fixtures.js';

/** Block `layer`'s CLS features of reference row `row`, as PyTorch computed them. */
function torchCls(layer: number, row: number): number[] {
  return REFERENCE.cls[layer - 1].slice(row * REFERENCE.hidden, (row + 1) * REFERENCE.hidden);
}

describe('extractFeatures on the fixture ViT', () => {
  let out: string;
  let summary: ExtractSummary;
  beforeAll(async () => {
    out = temporaryDir();
    summary = await extractFeatures(MODEL, TRAIN, out, { batchSize: 48 });
  });

  it('writes one Arrow file per block, numbered from 01', () => {
    expect(summary.layers).toBe(REFERENCE.blocks);
    expect(
      readdirSync(out)
        .filter((file) => file.endsWith('.arrow'))
        .sort(),
    ).toEqual(Array.from({ length: REFERENCE.blocks }, (_, index) => layerFileName(index + 1)));
    expect(summary.rows).toBe(1000);
    expect(summary.dim).toBe(REFERENCE.hidden);
    expect(summary.imagesPerSecond).toBeGreaterThan(0);
  });

  it("gives every block's CLS token equal to PyTorch's to 1e-4, in the input's row order", async () => {
    for (let layer = 1; layer <= REFERENCE.blocks; layer++) {
      const features = await readFeatures(join(out, layerFileName(layer)));
      expect(Array.from(features.labels.subarray(0, REFERENCE.rows))).toEqual(REFERENCE.labels);
      const ours = features.values.subarray(0, REFERENCE.rows * features.dim);
      expect(maxAbsDiff(ours, REFERENCE.cls[layer - 1])).toBeLessThan(1e-4);
    }
  });

  it('decodes PNG bytes in an Arrow file to the same features', async () => {
    const pngOut = temporaryDir();
    await extractFeatures(MODEL, IMAGES, pngOut, { batchSize: 10 });
    const top = await readFeatures(join(pngOut, layerFileName(REFERENCE.blocks)));
    expect(top.rows).toBe(64);
    expect(maxAbsDiff(top.values.subarray(0, REFERENCE.rows * top.dim), REFERENCE.cls[REFERENCE.blocks - 1])).toBeLessThan(1e-4);
  });

  it('reads an ImageFolder tree, classes in sorted order, files sorted within a class', async () => {
    const folderOut = temporaryDir();
    await extractFeatures(MODEL, FOLDER, folderOut);
    const first = await readFeatures(join(folderOut, layerFileName(1)));
    // The folder holds the first 64 training rows as <label>/<row>.png: rebuild each row's index.
    const files = readdirSync(FOLDER)
      .sort()
      .flatMap((label) =>
        readdirSync(join(FOLDER, label))
          .sort()
          .map((file) => ({ label: Number(label), row: Number(basename(file, '.png')) })),
      );
    expect(first.rows).toBe(files.length);
    files.forEach(({ label, row }, index) => {
      expect(first.labels[index]).toBe(label);
      if (row < REFERENCE.rows) {
        expect(maxAbsDiff(first.values.subarray(index * first.dim, (index + 1) * first.dim), torchCls(1, row))).toBeLessThan(1e-4);
      }
    });
  });

  it('takes mean and std from the command line over the model metadata', async () => {
    const shifted = temporaryDir();
    await extractFeatures(MODEL, IMAGES, shifted, { mean: '0,0,0', std: '1,1,1' });
    const top = await readFeatures(join(shifted, layerFileName(REFERENCE.blocks)));
    expect(maxAbsDiff(top.values.subarray(0, top.dim), torchCls(REFERENCE.blocks, 0))).toBeGreaterThan(1e-2);
  });
});

describe('batchSizeForMemory', () => {
  it("keeps a batch's working set and CLS features within a quarter of free memory, within 1..MAX_AUTO_BATCH", () => {
    // ViT-B/16: 72 block outputs of 197 tokens x 768 x 4 bytes, and 12 CLS tokens of 768 x 4 bytes:
    // 4 x (10,893,312 + 9,216) = 43,610,112 bytes an image.
    const vitB = bytesPerImage({ tokens: 197, dim: 768 }, 12);
    expect(vitB).toBe(43_610_112);
    expect(batchSizeForMemory(vitB, 1e9, MAX_AUTO_BATCH.cpu)).toBe(5); // floor(2.5e8 / 43,610,112)
    expect(batchSizeForMemory(vitB, 8e9, MAX_AUTO_BATCH.cuda)).toBe(45); // floor(2e9 / 43,610,112)
    expect(batchSizeForMemory(vitB, 8e9, MAX_AUTO_BATCH.cpu)).toBe(16);
    expect(batchSizeForMemory(vitB, 64e9, MAX_AUTO_BATCH.cuda)).toBe(64);
    expect(batchSizeForMemory(vitB, 1e6, MAX_AUTO_BATCH.cuda)).toBe(1);
  });
});

describe('extractFeatures on bad input', () => {
  it('names a missing model file', async () => {
    await expect(extractFeatures('/nonexistent/model.onnx', TRAIN, temporaryDir())).rejects.toThrow(
      new InputError('/nonexistent/model.onnx', 'model file not found'),
    );
  });

  it('names a missing dataset', async () => {
    await expect(extractFeatures(MODEL, '/nonexistent/data.arrow', temporaryDir())).rejects.toThrow(
      /\/nonexistent\/data.arrow: dataset not found/,
    );
  });

  it('says when no transformer blocks are found, and how to name them', async () => {
    await expect(extractFeatures(NO_BLOCKS_MODEL, TRAIN, temporaryDir())).rejects.toThrow(
      /mlp\.onnx: no transformer blocks found.*--block-outputs/,
    );
  });

  it('refuses a dataset with one class', async () => {
    const dir = temporaryDir();
    const oneClass = join(dir, 'one-class.arrow');
    writePixelDataset(oneClass, new Float32Array(4 * 768), 768, new Int32Array(4));
    await expect(extractFeatures(MODEL, oneClass, dir)).rejects.toThrow(/one-class\.arrow: the dataset has one class/);
  });

  it('refuses pixels that do not match the model input size', async () => {
    const dir = temporaryDir();
    const wrong = join(dir, 'wrong-size.arrow');
    writePixelDataset(wrong, new Float32Array(4 * 10), 10, Int32Array.from([0, 1, 0, 1]));
    await expect(extractFeatures(MODEL, wrong, dir)).rejects.toThrow(
      /wrong-size\.arrow: column "pixels" holds 10 values per row, the model's input needs 768/,
    );
  });

  it('refuses an Arrow file without pixels or images', async () => {
    const dir = temporaryDir();
    const features = join(dir, 'features.arrow');
    await writeFeatures(features, { values: new Float32Array(4 * 10), rows: 4, dim: 10, labels: Int32Array.from([0, 1, 0, 1]) });
    await expect(extractFeatures(MODEL, features, dir)).rejects.toThrow(/features\.arrow: has neither a "pixels" nor an "image" column/);
  });

  it('gives a clear message when CUDA is asked for on a host without it', async () => {
    await expect(extractFeatures(MODEL, TRAIN, temporaryDir(), { executionProvider: 'cuda' })).rejects.toThrow(
      /CUDA execution provider is not available/,
    );
  });
});
