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
import { type CutDecision, validateAlpha } from '../lib/decide/cutRule.js';
import {
  type CutStability,
  decideRepeats,
  emptyRepeatScores,
  meanCurve,
  type RepeatCuts,
  repeatSeed,
  spreadCurve,
  validateRepeats,
} from '../lib/decide/repeats.js';
import { checkedScore } from '../lib/decide/scoreCheck.js';
import { nextWave } from '../lib/decide/waves.js';
import { type TsneGradient, validateTsneGradient } from '../lib/embed/tsne/gradients.js';
import { InputError } from '../lib/errors.js';
import type { ExecutionProvider } from '../lib/extract/extract.js';
import type { ModelOptions } from '../lib/onnx/inference.js';
import { ALPHA, DATASET, KEPT_LAYERS, STABLE, STAGE } from './searchAttributes.js';

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
  /**
   * t-SNE seeds per scored layer (1 by default: the paper's single seed). Repeat 0 uses `seed`,
   * the others seeds derived from it; the cut is the mean curve's.
   */
  repeats?: number;
  /** The t-SNE's gradient ('auto' by default; 'barnes_hut' for scikit-learn's at every n). */
  tsneGradient?: TsneGradient;
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

/** What R > 1 repeats add to a run's result. */
export interface RepeatSummary {
  seeds: number[];
  /** `scores[layer - 1][repeat]`; null where no walk needed it. */
  scores: Array<Array<number | null>>;
  /** Sample standard deviation of each layer's repeats; null where not every repeat was scored. */
  spread: Array<number | null>;
  /** Per alpha: each repeat's own cut and their distribution. */
  cuts: RepeatCuts[];
  /** Every repeat keeps what the mean curve keeps, at every alpha. */
  stable: boolean;
}

export interface PruneDatasetResult {
  datasetName: string;
  /** SC_1..SC_N (the mean over the repeats); null for layers the top-down walk did not need. */
  scores: Array<number | null>;
  /** The cuts of the mean curve `scores`. */
  decisions: CutDecision[];
  checkpoints: CheckpointSummary[];
  features: Omit<ExtractResult, 'layerFiles'>;
  /** `repeat` is set when the run has repeats. */
  embeddings: Array<EmbedResult & { repeat?: number }>;
  /** Only when the run has more than one repeat. */
  repeats?: RepeatSummary;
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

/** An error thrown by workflow code would retry its task forever: bad input fails the run at once. */
function failRunOnBadInput<T>(stage: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    const file = error instanceof InputError ? error.file : undefined;
    throw ApplicationFailure.create({
      message: (error as Error).message,
      type: 'InputError',
      nonRetryable: true,
      details: [{ stage, file }],
    });
  }
}

/**
 * extract -> embed (top-down waves, stopping once every alpha is decided) -> score -> decide -> emit.
 * Tensors stay in artifacts; only URIs and scores travel through the history.
 */
export async function PruneDatasetWorkflow(input: PruneDatasetInput): Promise<PruneDatasetResult> {
  const repeats = input.repeats ?? 1;
  failRunOnBadInput('start', () => {
    input.alphas.forEach(validateAlpha);
    validateRepeats(repeats);
    if (input.tsneGradient !== undefined) validateTsneGradient(input.tsneGradient);
  });
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
  const scores = emptyRepeatScores(layers, repeats);
  const seeds = Array.from({ length: repeats }, (_, repeat) => repeatSeed(input.seed, repeat));
  progress.layers = layers;
  const embeddings: PruneDatasetResult['embeddings'] = [];
  const wavePlan = { alphas: input.alphas, waveSize: input.waveSize ?? 2, fullCurve: input.fullCurve };

  for (;;) {
    const wave = nextWave(scores, wavePlan);
    if (wave === null) break;
    const what = wave.map(({ layer, repeat }) => (repeats > 1 ? `${layer} (repeat ${repeat})` : String(layer)));
    enterStage('embed', `t-SNE and scoring of layers ${what.join(', ')} of ${layers}`);
    await Promise.all(
      wave.map(async ({ layer, repeat }) => {
        const embedded = await embedLayer({
          featuresFile: features.layerFiles[layer - 1],
          layer,
          seed: seeds[repeat],
          artifactRoot: input.artifactRoot,
          tsneGradient: input.tsneGradient,
        });
        embeddings.push(repeats > 1 ? { ...embedded, repeat } : embedded);
        const score = await scoreEmbedding(embedded.embeddingFile);
        scores[layer - 1][repeat] = failRunOnBadInput('score', () => checkedScore(score, layer, embedded.embeddingFile));
        progress.scores = meanCurve(scores).map((score) => score ?? null);
      }),
    );
  }

  enterStage('decide', 'deciding the cut');
  const { decisions, cuts, stable } = decideRepeats(scores, input.alphas);
  const curve = meanCurve(scores).map((score) => score ?? null);
  const repeatSummary: RepeatSummary | undefined =
    repeats > 1
      ? { seeds, scores: scores.map((row) => row.map((score) => score ?? null)), spread: spreadCurve(scores), cuts, stable }
      : undefined;
  const stability = (index: number): CutStability | undefined =>
    repeatSummary && { repeats, seeds, stable, keptBlocks: cuts[index].keptBlocks };
  enterStage('emit', `emitting checkpoints keeping ${decisions.map((d) => d.keptBlocks).join(', ')} blocks`);
  const emit = (chosen: CutDecision[]) =>
    emitPrunedCheckpoint({
      model: input.model,
      data: input.data,
      evalData: input.evalData,
      trainFeatures: features.layerFiles[chosen[0].keptBlocks - 1],
      artifactRoot: input.artifactRoot,
      decisions: chosen.map((decision) => ({ ...decision, stability: stability(decisions.indexOf(decision)) })),
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
  // One seed says nothing about stability: the attribute is left unset.
  if (repeatSummary) upsertSearchAttributes([{ key: STABLE, value: stable }]);
  const verdict = repeatSummary
    ? stable
      ? `, stable over ${repeats} repeats`
      : `, unstable: repeats keep ${cuts[0].keptBlocks.join(', ')}`
    : '';
  enterStage('done', `kept ${decisions[0].keptBlocks} of ${layers} blocks (alpha ${decisions[0].alpha})${verdict}`);

  const { layerFiles: _, ...featureSummary } = features;
  return {
    datasetName: input.datasetName,
    scores: curve,
    decisions,
    checkpoints: perAlpha.map(({ reused: _, ...checkpoint }, index) => ({ alpha: decisions[index].alpha, ...checkpoint })),
    features: featureSummary,
    embeddings: embeddings.sort((a, b) => a.layer - b.layer || (a.repeat ?? 0) - (b.repeat ?? 0)),
    ...(repeatSummary && { repeats: repeatSummary }),
    reused: {
      extract: features.reused,
      embed: embeddings.filter((embedding) => embedding.reused).length,
      emit: emitted.filter((checkpoint) => checkpoint.reused).length,
    },
  };
}
