import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { artifactKey, contentDigest, exists, STEP_VERSIONS } from '../lib/artifacts.js';
import { embedFeatureFile, scoreEmbeddingFile } from '../lib/layerEmbedding.js';
import { failFastOnBadInput } from './failures.js';

export interface EmbedInput {
  featuresFile: string;
  layer: number;
  seed: number;
  artifactRoot: string;
  perplexity?: number;
}

export interface EmbedResult {
  layer: number;
  embeddingFile: string;
  reused: boolean;
}

/** Embed step for one layer: t-SNE of its CLS features to 2-D, raw coordinates, input row order. */
export async function embedLayer(input: EmbedInput): Promise<EmbedResult> {
  return failFastOnBadInput(async () => {
    const key = artifactKey({
      step: 'embed',
      version: STEP_VERSIONS.embed,
      features: await contentDigest(input.featuresFile),
      seed: input.seed,
      perplexity: input.perplexity,
    });
    const embeddingFile = join(input.artifactRoot, 'embeddings', `${key}.arrow`);
    const reused = await exists(embeddingFile);
    if (!reused) {
      const context = Context.current();
      await embedFeatureFile(input.featuresFile, embeddingFile, {
        seed: input.seed,
        perplexity: input.perplexity,
        onProgress: (iteration) => context.heartbeat({ layer: input.layer, iteration }),
      });
    }
    return { layer: input.layer, embeddingFile, reused };
  });
}

/** Score step: the SLS score (silhouette of the min-max scaled embedding, labels as clusters). */
export async function scoreEmbedding(embeddingFile: string): Promise<number> {
  return failFastOnBadInput(() => scoreEmbeddingFile(embeddingFile));
}
