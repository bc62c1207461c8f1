import { Context } from '@temporalio/activity';
import { embedFeatureFile, scoreEmbeddingFile } from '../lib/embed/layerEmbedding.js';
import { keyedGradient, type TsneGradient } from '../lib/embed/tsne/gradients.js';
import { contentDigest } from '../lib/store/artifacts.js';
import { runStep, type StepDefinition } from '../lib/store/step.js';
import { failFastOnBadInput } from './failures.js';
import { type HostSettings, onHost } from './host.js';

export interface EmbedInput {
  featuresFile: string;
  layer: number;
  seed: number;
  artifactRoot: string;
  perplexity?: number;
  /** The t-SNE's gradient (lib/embed/tsne/gradients.ts); 'auto' when absent. */
  tsneGradient?: TsneGradient;
}

export interface EmbedResult {
  layer: number;
  embeddingFile: string;
  reused: boolean;
}

/** What determines a layer's embedding: its features' content, the seed, the perplexity and the gradient. */
export async function embedStep(input: EmbedInput): Promise<StepDefinition> {
  return {
    root: input.artifactRoot,
    kind: 'embeddings',
    step: 'embed',
    inputs: { features: { path: input.featuresFile, sha256: await contentDigest(input.featuresFile) } },
    parameters: { perplexity: input.perplexity, tsneGradient: keyedGradient(input.tsneGradient) },
    notes: { layer: input.layer },
    seed: input.seed,
    layout: '.arrow',
  };
}

/** How the worker runs the embed step (not part of the workflow's call). */
export interface EmbedSettings extends HostSettings {
  /** Threads of each t-SNE (see tsneThreadsPerRun); default the machine's available parallelism. */
  threads?: number;
}

/** Embed step for one layer: t-SNE of its CLS features to 2-D, raw coordinates, input row order. */
export async function embedLayer(input: EmbedInput, settings: EmbedSettings = {}): Promise<EmbedResult> {
  return failFastOnBadInput(async () => {
    const context = Context.current();
    const { path: embeddingFile, reused } = await runStep({
      ...(await embedStep(input)),
      build: async ({ temporary, artifact }) => {
        await onHost(settings, () =>
          embedFeatureFile(input.featuresFile, temporary, {
            seed: input.seed,
            perplexity: input.perplexity,
            method: input.tsneGradient,
            threads: settings.threads,
            onProgress: (iteration) => context.heartbeat({ layer: input.layer, iteration }),
            // A retried attempt resumes from the last state saved here.
            stateFile: `${artifact.path}.tsne-state`,
            signal: context.cancellationSignal,
          }),
        );
      },
      onDamaged: (path, reason) => context.log.warn(`rebuilding ${path}: ${reason}`),
    });
    return { layer: input.layer, embeddingFile, reused };
  });
}

/** Score step: the SLS score (silhouette of the min-max scaled embedding, labels as clusters). */
export async function scoreEmbedding(embeddingFile: string): Promise<number> {
  return failFastOnBadInput(() => scoreEmbeddingFile(embeddingFile));
}
