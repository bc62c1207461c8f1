import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { embedFeatureFile, scoreEmbeddingFile } from '../lib/embed/layerEmbedding.js';
import { artifactKey, contentDigest, STEP_VERSIONS } from '../lib/store/artifacts.js';
import { publishWithLineage, reuseIfIntact } from '../lib/store/lineage.js';
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

/** How the worker runs the embed step (not part of the workflow's call). */
export interface EmbedSettings {
  /** Threads of each t-SNE (see tsneThreadsPerRun); default the machine's available parallelism. */
  threads?: number;
}

/** Embed step for one layer: t-SNE of its CLS features to 2-D, raw coordinates, input row order. */
export async function embedLayer(input: EmbedInput, settings: EmbedSettings = {}): Promise<EmbedResult> {
  return failFastOnBadInput(async () => {
    const features = { path: input.featuresFile, sha256: await contentDigest(input.featuresFile) };
    const key = artifactKey({
      step: 'embed',
      version: STEP_VERSIONS.embed,
      features: features.sha256,
      seed: input.seed,
      perplexity: input.perplexity,
    });
    const embeddingFile = join(input.artifactRoot, 'embeddings', `${key}.arrow`);
    const context = Context.current();
    const reused = await reuseIfIntact(embeddingFile, (reason) => context.log.warn(`rebuilding ${embeddingFile}: ${reason}`));
    if (!reused) {
      const provenance = {
        step: 'embed',
        stepVersion: STEP_VERSIONS.embed,
        inputs: { features },
        parameters: { layer: input.layer, perplexity: input.perplexity },
        seed: input.seed,
      };
      await publishWithLineage(
        embeddingFile,
        'file',
        (temporary) =>
          embedFeatureFile(input.featuresFile, temporary, {
            seed: input.seed,
            perplexity: input.perplexity,
            threads: settings.threads,
            onProgress: (iteration) => context.heartbeat({ layer: input.layer, iteration }),
            // A retried attempt resumes from the last state saved here.
            stateFile: `${embeddingFile}.tsne-state`,
            signal: context.cancellationSignal,
          }).then(() => undefined),
        provenance,
      );
    }
    return { layer: input.layer, embeddingFile, reused };
  });
}

/** Score step: the SLS score (silhouette of the min-max scaled embedding, labels as clusters). */
export async function scoreEmbedding(embeddingFile: string): Promise<number> {
  return failFastOnBadInput(() => scoreEmbeddingFile(embeddingFile));
}
