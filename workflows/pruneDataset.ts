import type { Duration } from '@temporalio/common';
import {
  ApplicationFailure,
  defineQuery,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { EmbedResult } from '../activities/embed.js';
import type { EmitResult } from '../activities/emit.js';
import type { ExtractResult } from '../activities/extract.js';
import type * as activities from '../activities/index.js';
import { type CutDecision, decideCut, validateAlpha } from '../lib/decide/cutRule.js';
import { nextWave } from '../lib/decide/waves.js';
import type { ExecutionProvider } from '../lib/extract/extract.js';
import type { ModelOptions } from '../lib/onnx/inference.js';
import { ALPHA, DATASET, KEPT_LAYERS, STAGE } from './searchAttributes.js';

/** The task queues of the two worker pools (workers/config.ts reads them from the environment). */
export interface TaskQueues {
  gpu: string;
  cpu: string;
}

export interface PruneDatasetInput {
  model: string;
  /** The labelled training split: scored, and the refit head's training data. */
  data: string;
  /** A labelled held-out split: the checkpoint's manifest then reports its accuracy before and after pruning. */
  evalData?: string;
  /** A short name for the UI's Dataset attribute; the data path's base name by default. */
  datasetName: string;
  alphas: number[];
  seed: number;
  /** Shared by every worker: features, embeddings and checkpoints live under it. */
  artifactRoot: string;
  /** Score every layer (for reports), not only down to the cut. */
  fullCurve?: boolean;
  /** Layers embedded at once in each top-down wave. */
  waveSize?: number;
  executionProvider?: ExecutionProvider;
  /** Batch size, normalisation of encoded images, block outputs: one object, passed to extract and emit alike. */
  modelOptions?: ModelOptions;
  taskQueues: TaskQueues;
  /** How long a step may go without a heartbeat before it is retried elsewhere (2 minutes by default). */
  heartbeatTimeout?: Duration;
}

export interface CheckpointSummary extends Omit<EmitResult, 'reused'> {
  alpha: number;
}

export interface PruneDatasetResult {
  datasetName: string;
  /** SC_1..SC_N; null for layers the top-down walk did not need. */
  scores: Array<number | null>;
  decisions: CutDecision[];
  checkpoints: CheckpointSummary[];
  features: Omit<ExtractResult, 'layerFiles'>;
  embeddings: EmbedResult[];
  /** Which steps found their output already made. */
  reused: { extract: boolean; embed: number; emit: number };
}

export interface PruneProgress {
  stage: string;
  layers: number;
  scores: Array<number | null>;
}

export const progressQuery = defineQuery<PruneProgress>('progress');

const HEARTBEAT = '2 minutes';
/** Histories before this patch emitted one checkpoint per alpha, all at once. */
const EMIT_PER_DEPTH = 'emit-once-per-kept-depth';

/** The decisions grouped by the depth they keep, in the order of the alphas that first chose each. */
function byKeptDepth(decisions: CutDecision[]): CutDecision[][] {
  const groups = new Map<number, CutDecision[]>();
  for (const decision of decisions) groups.set(decision.keptBlocks, [...(groups.get(decision.keptBlocks) ?? []), decision]);
  return [...groups.values()];
}
/**
 * Retries per stage. Extraction fails mostly for want of GPU memory or a lost worker: few tries,
 * long waits. A t-SNE shard resumes from its saved state, so it may try more often. Scoring is
 * seconds of pure computation: quick retries.
 */
const RETRY = {
  extract: { initialInterval: '30s', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 4 },
  embed: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 8 },
  score: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
  emit: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
} as const;

/**
 * extract -> embed (top-down waves, stopping once every alpha is decided) -> score -> decide -> emit.
 * Tensors stay in artifacts; only URIs and scores travel through the history.
 */
export async function PruneDatasetWorkflow(input: PruneDatasetInput): Promise<PruneDatasetResult> {
  try {
    input.alphas.forEach(validateAlpha);
  } catch (error) {
    // An error thrown by workflow code would retry its task forever: bad input fails the run at once.
    throw ApplicationFailure.nonRetryable((error as Error).message, 'InputError');
  }
  const queues = input.taskQueues;
  const activitiesFor = (taskQueue: string, retry: (typeof RETRY)[keyof typeof RETRY], startToCloseTimeout: Duration) =>
    proxyActivities<typeof activities>({
      taskQueue,
      startToCloseTimeout,
      heartbeatTimeout: input.heartbeatTimeout ?? HEARTBEAT,
      retry,
    });
  const { extractLayerFeatures } = activitiesFor(queues.gpu, RETRY.extract, '4 hours');
  const { embedLayer } = activitiesFor(queues.cpu, RETRY.embed, '4 hours');
  const { scoreEmbedding } = activitiesFor(queues.cpu, RETRY.score, '30 minutes');
  const { emitPrunedCheckpoint } = activitiesFor(queues.cpu, RETRY.emit, '4 hours');

  const progress: PruneProgress = { stage: 'extract', layers: 0, scores: [] };
  setHandler(progressQuery, () => progress);
  const enterStage = (stage: string, details: string) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
    setCurrentDetails(`**${input.datasetName}**: ${details}`);
  };
  upsertSearchAttributes([
    { key: DATASET, value: input.datasetName },
    { key: ALPHA, value: input.alphas[0] },
  ]);

  enterStage('extract', `extracting CLS features from ${input.model}`);
  const features = await extractLayerFeatures({
    model: input.model,
    data: input.data,
    artifactRoot: input.artifactRoot,
    executionProvider: input.executionProvider,
    ...input.modelOptions,
  });
  const layers = features.layerFiles.length;
  const scores: Array<number | undefined> = new Array(layers).fill(undefined);
  progress.layers = layers;
  const embeddings: EmbedResult[] = [];
  const wavePlan = { alphas: input.alphas, waveSize: input.waveSize ?? 2, fullCurve: input.fullCurve };

  for (;;) {
    const wave = nextWave(scores, wavePlan);
    if (wave === null) break;
    enterStage('embed', `t-SNE and scoring of layers ${wave.join(', ')} of ${layers}`);
    await Promise.all(
      wave.map(async (layer) => {
        const embedded = await embedLayer({
          featuresFile: features.layerFiles[layer - 1],
          layer,
          seed: input.seed,
          artifactRoot: input.artifactRoot,
        });
        embeddings.push(embedded);
        scores[layer - 1] = await scoreEmbedding(embedded.embeddingFile);
        progress.scores = scores.map((score) => score ?? null);
      }),
    );
  }

  enterStage('decide', 'deciding the cut');
  const decisions = input.alphas.map((alpha) => decideCut(scores, alpha) as CutDecision);
  const curve = scores.map((score) => score ?? null);
  enterStage('emit', `emitting checkpoints keeping ${decisions.map((d) => d.keptBlocks).join(', ')} blocks`);
  const emit = (chosen: CutDecision[]) =>
    emitPrunedCheckpoint({
      model: input.model,
      data: input.data,
      evalData: input.evalData,
      artifactRoot: input.artifactRoot,
      decisions: chosen,
      scores: curve,
      ...input.modelOptions,
    });
  // One checkpoint per kept depth, one after another: each times its speed with the CPU worker to
  // itself (every t-SNE of this run is done by now), and alphas that agree share one refit.
  const perAlpha: EmitResult[] = [];
  if (patched(EMIT_PER_DEPTH)) {
    for (const group of byKeptDepth(decisions)) {
      const checkpoint = await emit(group);
      for (const decision of group) perAlpha[decisions.indexOf(decision)] = checkpoint;
    }
  } else {
    perAlpha.push(...(await Promise.all(decisions.map((decision) => emit([decision])))));
  }
  const emitted = [...new Set(perAlpha)];
  upsertSearchAttributes([{ key: KEPT_LAYERS, value: decisions[0].keptBlocks }]);
  enterStage('done', `kept ${decisions[0].keptBlocks} of ${layers} blocks (alpha ${decisions[0].alpha})`);

  const { layerFiles: _, ...featureSummary } = features;
  return {
    datasetName: input.datasetName,
    scores: curve,
    decisions,
    checkpoints: perAlpha.map(({ reused: _, ...checkpoint }, index) => ({ alpha: decisions[index].alpha, ...checkpoint })),
    features: featureSummary,
    embeddings: embeddings.sort((a, b) => a.layer - b.layer),
    reused: {
      extract: features.reused,
      embed: embeddings.filter((embedding) => embedding.reused).length,
      emit: emitted.filter((checkpoint) => checkpoint.reused).length,
    },
  };
}
