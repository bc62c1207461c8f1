import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedFeatureFile, scoreEmbeddingFile } from '../../../lib/embed/layerEmbedding.js';
import { InputError } from '../../../lib/errors.js';
import { readEmbedding, writeEmbedding, writeFeatures } from '../../../lib/io/arrowTensors.js';
import { FIXTURES, temporaryDir } from '../../helpers/fixtures.js';

/** An unscaled embedding and scikit-learn's silhouette_score of its MinMaxScaler output (make_sklearn_fixtures.py). */
const SKLEARN_SLS: { x: number[]; y: number[]; labels: number[]; sls: number } = JSON.parse(
  readFileSync(join(FIXTURES, 'sklearn/silhouette.json'), 'utf8'),
).sls;

/** Two well-separated 3-D blobs, alternating labels row by row. */
async function blobs(path: string, rows: number): Promise<void> {
  const values = new Float32Array(rows * 3);
  const labels = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    labels[row] = row % 2;
    for (let axis = 0; axis < 3; axis++) values[row * 3 + axis] = labels[row] * 10 + Math.sin(row * 7 + axis);
  }
  await writeFeatures(path, { values, rows, dim: 3, labels });
}

describe('embedFeatureFile', () => {
  it('refuses fewer samples than 3 * perplexity + 1, naming the file', async () => {
    const dir = temporaryDir();
    const features = join(dir, 'layer-01.arrow');
    await blobs(features, 90);
    await expect(embedFeatureFile(features, join(dir, 'e.arrow'))).rejects.toThrow(
      `${features}: has 90 samples; t-SNE at perplexity 30 needs at least 91 (3 * perplexity + 1)`,
    );
    await expect(embedFeatureFile(features, join(dir, 'e.arrow'), { perplexity: 29 })).resolves.toMatchObject({ rows: 90 });
  });

  it('embeds 91 samples at the default perplexity, keeping the labels in row order', async () => {
    const dir = temporaryDir();
    const features = join(dir, 'layer-01.arrow');
    await blobs(features, 91);
    await embedFeatureFile(features, join(dir, 'e.arrow'), { seed: 1 });
    const { x, labels } = await readEmbedding(join(dir, 'e.arrow'));
    expect(x).toHaveLength(91);
    expect(Array.from(labels.subarray(0, 4))).toEqual([0, 1, 0, 1]);
  });
});

describe('scoreEmbeddingFile', () => {
  it("is scikit-learn's silhouette of the min-max scaled embedding the file holds", async () => {
    const path = join(temporaryDir(), 'layer-01.embedding.arrow');
    const { x, y, labels, sls } = SKLEARN_SLS;
    await writeEmbedding(path, { x: Float64Array.from(x), y: Float64Array.from(y), labels: Int32Array.from(labels) });
    // The unscaled silhouette differs by about 0.005: the tolerance sees a missing scaling.
    expect(Math.abs((await scoreEmbeddingFile(path)) - sls)).toBeLessThan(1e-9);
  });

  it('refuses an embedding of one class, naming the file', async () => {
    const path = join(temporaryDir(), 'one-class.arrow');
    await writeEmbedding(path, { x: Float64Array.from([0, 1, 2]), y: Float64Array.from([0, 1, 0]), labels: Int32Array.from([4, 4, 4]) });
    const error = await scoreEmbeddingFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).file).toBe(path);
    expect((error as InputError).message).toBe(`${path}: the silhouette needs between 2 and n - 1 = 2 distinct labels, got 1`);
  });
});
