import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedFeatureFile } from '../../../lib/embed/layerEmbedding.js';
import { readEmbedding, writeFeatures } from '../../../lib/io/arrowTensors.js';
import { temporaryDir } from '../../helpers/fixtures.js';

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
