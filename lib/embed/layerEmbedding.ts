/** One layer's reduce and score steps (DESIGN.md section 1, steps 2-3), file to file. */
import { rm } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { readEmbedding, readFeatures, writeEmbedding } from '../io/arrowTensors.js';
import { slsScore } from '../score/silhouette.js';
import { DEFAULT_PERPLEXITY } from './tsne/index.js';
import { type OffThreadOptions, runTsneOffThread } from './tsne/offThread.js';
import { loadState, saveState } from './tsne/state.js';

export interface EmbedOptions extends Omit<OffThreadOptions, 'source' | 'resumeFrom' | 'onCheckpoint'> {
  /**
   * Where to keep the optimiser's state every `checkpointEvery` iterations; a run that finds one
   * there resumes from it (bit-identical to an uninterrupted run). Removed once the embedding is
   * written. The name must be unique to the inputs and options (e.g. the artifact's name).
   */
  stateFile?: string;
}

/**
 * t-SNE of a features file to 2-D, on a worker thread; writes raw (unscaled) coordinates in the
 * input's row order.
 */
export async function embedFeatureFile(
  featuresFile: string,
  embeddingFile: string,
  options: EmbedOptions = {},
): Promise<{ rows: number; klDivergence: number; resumedAt?: number }> {
  const { stateFile, ...tsneOptions } = options;
  const features = await readFeatures(featuresFile);
  // The SLS score needs each point's full neighbourhood: scikit-learn would shrink k silently.
  const perplexity = options.perplexity ?? DEFAULT_PERPLEXITY;
  const needed = Math.floor(3 * perplexity + 1);
  if (features.rows < needed) {
    throw new InputError(
      featuresFile,
      `has ${features.rows} samples; t-SNE at perplexity ${perplexity} needs at least ${needed} (3 * perplexity + 1)`,
    );
  }
  const resumeFrom = stateFile ? await loadState(stateFile, features.rows) : undefined;
  const { embedding, klDivergence } = await runTsneOffThread(features.values, features.rows, features.dim, {
    ...tsneOptions,
    source: featuresFile,
    resumeFrom,
    onCheckpoint: stateFile ? (state) => saveState(stateFile, state) : undefined,
  });
  const x = new Float64Array(features.rows);
  const y = new Float64Array(features.rows);
  for (let row = 0; row < features.rows; row++) {
    x[row] = embedding[2 * row];
    y[row] = embedding[2 * row + 1];
  }
  await writeEmbedding(embeddingFile, { x, y, labels: features.labels });
  if (stateFile) await rm(stateFile, { force: true });
  return { rows: features.rows, klDivergence, resumedAt: resumeFrom?.iteration };
}

/** The SLS score of an embedding file: silhouette of the min-max scaled points, labels as clusters. */
export async function scoreEmbeddingFile(embeddingFile: string): Promise<number> {
  const { x, y, labels } = await readEmbedding(embeddingFile);
  return slsScore(x, y, labels, embeddingFile);
}
