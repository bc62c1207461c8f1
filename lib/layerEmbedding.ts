/** One layer's reduce and score steps (DESIGN.md section 1, steps 2-3), file to file. */
import { readEmbedding, readFeatures, writeEmbedding } from './arrowTensors.js';
import { slsScore } from './silhouette.js';
import { runTsne, type TsneOptions } from './tsne/index.js';

/** t-SNE of a features file to 2-D; writes raw (unscaled) coordinates in the input's row order. */
export async function embedFeatureFile(
  featuresFile: string,
  embeddingFile: string,
  options: Omit<TsneOptions, 'source'> = {},
): Promise<{ rows: number; klDivergence: number }> {
  const features = await readFeatures(featuresFile);
  const { embedding, klDivergence } = await runTsne(features.values, features.rows, features.dim, {
    ...options,
    source: featuresFile,
  });
  const x = new Float64Array(features.rows);
  const y = new Float64Array(features.rows);
  for (let row = 0; row < features.rows; row++) {
    x[row] = embedding[2 * row];
    y[row] = embedding[2 * row + 1];
  }
  await writeEmbedding(embeddingFile, { x, y, labels: features.labels });
  return { rows: features.rows, klDivergence };
}

/** The SLS score of an embedding file: silhouette of the min-max scaled points, labels as clusters. */
export async function scoreEmbeddingFile(embeddingFile: string): Promise<number> {
  const { x, y, labels } = await readEmbedding(embeddingFile);
  return slsScore(x, y, labels, embeddingFile);
}
