/**
 * Emit: the pruned checkpoint (blocks 1..k, final norm, and a head refit on block k's normed CLS
 * features of the training split) into the checkpoint store, plus its manifest: the cut, the
 * parameters and multiply-adds kept, the held-out accuracy of the full model, the pruned model
 * with its old head and with the refit head, and the measured speed-up. One checkpoint per kept
 * depth: every alpha that chose it is listed in the manifest. A backbone exported without a head
 * gets a new linear head on its final norm, fit the same way.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { CutDecision } from '../decide/cutRule.js';
import type { CutStability } from '../decide/repeats.js';
import { InputError } from '../errors.js';
import { blockLayout } from '../onnx/blocks.js';
import { multiplyAdds } from '../onnx/flops.js';
import { appendLinearHead, findHead, type HeadLayout, headlessFinalNorm, refitHeadTensors, withHeadBias } from '../onnx/head.js';
import { collectOutputs, type ModelInputs, type ModelOptions, openModelFile, openModelInputs, readImages } from '../onnx/inference.js';
import { loadModel, type ModelProto, modelMetadata } from '../onnx/model.js';
import { createSession } from '../onnx/session.js';
import { exposeTensors, parameterCount, replaceInitializers, truncateBlocks } from '../onnx/surgery.js';
import { writeFileAtomic } from '../store/atomicWrite.js';
import { topOneAccuracy } from './accuracy.js';
import { type StoredCheckpoint, storeCheckpoint } from './checkpointStore.js';
import { fitLogisticRegressionOffThread } from './headRefit.js';
import { compareSpeed, type SpeedComparison, type SpeedOptions } from './speed.js';

/** scikit-learn's default C for LogisticRegression. */
const DEFAULT_HEAD_C = 1;
/** L-BFGS iterations of the head refit at most (the fixture's converges in about 600). */
const HEAD_MAX_ITERATIONS = 2000;
/** Images timed per batch in the speed comparison. */
const SPEED_BATCH = 32;

export interface EmitOptions extends ModelOptions {
  /** A labelled held-out split: accuracy (a)/(b)/(c) is measured on it when given. */
  evalData?: string;
  headC?: number;
  speed?: SpeedOptions;
  onProgress?: (step: string, rowsDone: number, rowsTotal: number) => void;
}

export interface HeadRefitSummary {
  /** The tensor the head reads: the final norm applied to block k's CLS token. */
  input: string;
  weight: string;
  bias: string;
  /** True where the export had no head and emit appended this one (accuracy (a) and (b) are then undefined). */
  appended: boolean;
  C: number;
  iterations: number;
  converged: boolean;
  /** scikit-learn's objective (mean cross-entropy + ||W||^2 / (2 C n)) at the fit. */
  objective: number;
}

export interface HeldOutAccuracy {
  data: string;
  rows: number;
  /** (a) the full model; null where it has no head (see `undefinedBecause`). */
  full: number | null;
  /** (b) blocks 1..k with the head trained on block N; null where there is none. */
  prunedOriginalHead: number | null;
  /** (c) blocks 1..k with the refit head: the checkpoint. */
  prunedRefitHead: number;
  /** Why (a) and (b) are null; null where they were measured. */
  undefinedBecause: string | null;
}

/** An alpha's decision, with whether its t-SNE repeats agree on it (runs with repeats only). */
export interface ChosenDecision extends CutDecision {
  stability?: CutStability;
}

/** An alpha that chose the checkpoint's depth, and why. */
export type ChosenBy = Omit<ChosenDecision, 'keptBlocks'>;

export interface CheckpointManifest {
  sourceModel: string;
  trainData: string;
  blocks: number;
  keptBlocks: number;
  /** The alphas that chose this depth in the run that built it (the key does not depend on them). */
  chosenBy: ChosenBy[];
  /** SC_1..SC_N; null for layers the top-down walk did not need. */
  scores: Array<number | null>;
  parametersKept: number;
  parametersTotal: number;
  /** Per image, MatMul/Gemm/Conv only (lib/flops.ts). */
  multiplyAddsKept: number;
  multiplyAddsTotal: number;
  head: HeadRefitSummary;
  /** Null when no held-out split was given. */
  accuracy: HeldOutAccuracy | null;
  speed: SpeedComparison;
  storage: Omit<StoredCheckpoint, 'path' | 'tensorFiles'>;
  /** The ONNX file's name in the store, beside this manifest. */
  checkpoint: string;
}

/** Where emitCheckpoint writes: final paths, or temporary ones in the store while publishing. */
export interface CheckpointFiles {
  /** The graph, in the store directory: its tensors go to tensors/ beside it. */
  model: string;
  manifest: string;
  /** The model's file name once published, as the manifest names it. */
  name: string;
}

export interface EmittedCheckpoint {
  manifest: CheckpointManifest;
  /** The shared tensor files the checkpoint references. */
  tensorFiles: string[];
}

/** Logits of every row of a split, and the accuracy against its labels; `step` names the pass in progress reports. */
async function accuracyOn(
  session: InferenceSession,
  inputs: ModelInputs,
  logits: string,
  classes: number,
  options: EmitOptions,
  step: string,
) {
  const onBatch = (rowsDone: number, rowsTotal: number) => options.onProgress?.(step, rowsDone, rowsTotal);
  const { values } = (await collectOutputs(session, inputs, [logits], { ...options, onBatch }))[logits];
  return topOneAccuracy(values, classes, inputs.dataset.labels);
}

const NEW_HEAD_ACCURACY = 'the export has no head: the full model and the pruned model with its original head have no logits';

/** The model with the head to refit: its own (with a bias), or a new one where it was exported without. */
function classifierOf(
  model: ModelProto,
  modelPath: string,
  layout: ReturnType<typeof blockLayout>,
  trainLabels: Int32Array,
): { model: ModelProto; head: HeadLayout; appended: boolean } {
  const norm = headlessFinalNorm(model, layout, modelPath);
  if (norm === null) return { ...withHeadBias(model, findHead(model, modelPath)), appended: false };
  // Logit c scores label c: as many outputs as the training split's highest label needs.
  const classes = trainLabels.reduce((highest, label) => Math.max(highest, label), 0) + 1;
  return { ...appendLinearHead(model, norm, classes), appended: true };
}

/** The depth every decision keeps: one checkpoint serves decisions that agree on it, and only those. */
export function sharedKeptBlocks(decisions: readonly CutDecision[]): number {
  const keptBlocks = decisions[0]?.keptBlocks;
  if (keptBlocks === undefined || decisions.some((decision) => decision.keptBlocks !== keptBlocks)) {
    throw new RangeError(`emit: one checkpoint is for one kept depth, got ${decisions.map((d) => d.keptBlocks).join(', ') || 'none'}`);
  }
  return keptBlocks;
}

/** Writes the refit checkpoint (its tensors into the store) and then its manifest. */
export async function emitCheckpoint(
  modelPath: string,
  dataPath: string,
  files: CheckpointFiles,
  decisions: CutDecision[],
  scores: Array<number | null>,
  options: EmitOptions = {},
): Promise<EmittedCheckpoint> {
  const keptBlocks = sharedKeptBlocks(decisions);
  const model = await loadModel(modelPath);
  const layout = blockLayout(model, modelPath, options.blockOutputs);
  const train = await openModelInputs(model, modelPath, dataPath, options);
  const classifier = classifierOf(model, modelPath, layout, train.dataset.labels);
  const { head, appended } = classifier;
  const pruned = truncateBlocks(classifier.model, layout, keptBlocks);
  const C = options.headC ?? DEFAULT_HEAD_C;
  const sessions: InferenceSession[] = [];
  const session = async (which: ModelProto | string) => {
    sessions.push(typeof which === 'string' ? await openModelFile(which) : await createSession(which, 'cpu', modelPath));
    return sessions[sessions.length - 1];
  };
  try {
    const prunedSession = await session(exposeTensors(pruned, [head.input]));
    const features = await collectOutputs(prunedSession, train, [head.input], {
      ...options,
      onBatch: (done, total) => options.onProgress?.('features', done, total),
    });
    options.onProgress?.('head refit', 0, HEAD_MAX_ITERATIONS);
    let reported = performance.now();
    const fit = await fitLogisticRegressionOffThread(features[head.input].values, train.dataset.labels, head.dim, {
      C,
      // Off this thread, so heartbeats flow while a large head solves; progress once a second.
      onIteration: (iteration) => {
        if (performance.now() - reported < 1000) return;
        reported = performance.now();
        options.onProgress?.('head refit', iteration, HEAD_MAX_ITERATIONS);
      },
      maxIterations: HEAD_MAX_ITERATIONS,
    });
    const refit = replaceInitializers(pruned, refitHeadTensors(head, fit, dataPath));
    const metadata = {
      ...modelMetadata(model),
      'sls.kept_blocks': String(keptBlocks),
      'sls.alphas': decisions.map((decision) => decision.alpha).join(','),
      'sls.head': appended ? 'new' : 'refit',
    };
    refit.metadataProps = Object.entries(metadata).map(([key, value]) => ({ key, value }));
    const { path, tensorFiles, ...storage } = await storeCheckpoint(files.model, refit);
    const refitSession = await session(path);
    const fullSession = await session(classifier.model);

    let accuracy: HeldOutAccuracy | null = null;
    const held = options.evalData === undefined ? null : await openModelInputs(model, modelPath, options.evalData, options);
    if (held !== null) {
      const outside = held.dataset.labels.find((label) => label < 0 || label >= head.classes);
      if (outside !== undefined) throw new InputError(held.dataset.source, `has label ${outside}, the model has ${head.classes} classes`);
      const measure = (which: InferenceSession, step: string) => accuracyOn(which, held, head.output, head.classes, options, step);
      accuracy = {
        data: held.dataset.source,
        rows: held.dataset.rows,
        full: appended ? null : await measure(fullSession, 'accuracy (full)'),
        prunedOriginalHead: appended ? null : await measure(prunedSession, 'accuracy (pruned, old head)'),
        prunedRefitHead: await measure(refitSession, 'accuracy (pruned, refit head)'),
        undefinedBecause: appended ? NEW_HEAD_ACCURACY : null,
      };
    }
    const timed = held ?? train;
    const images = await readImages(timed, 0, Math.min(SPEED_BATCH, timed.dataset.rows));
    const speed = await compareSpeed(fullSession, refitSession, timed.input, images, {
      ...options.speed,
      onRound: (roundsDone, roundsTotal) => options.onProgress?.('speed', roundsDone, roundsTotal),
    });

    const manifest: CheckpointManifest = {
      sourceModel: modelPath,
      trainData: dataPath,
      blocks: layout.blockOutputs.length,
      keptBlocks,
      chosenBy: decisions.map(({ keptBlocks: _, ...chosen }) => chosen),
      scores,
      parametersKept: parameterCount(refit),
      parametersTotal: parameterCount(model),
      multiplyAddsKept: (await multiplyAdds(refit, modelPath)).total,
      multiplyAddsTotal: (await multiplyAdds(model, modelPath)).total,
      head: {
        input: head.input,
        weight: head.weight,
        bias: head.bias as string,
        appended,
        C,
        iterations: fit.iterations,
        converged: fit.converged,
        objective: fit.objective,
      },
      accuracy,
      speed,
      storage,
      checkpoint: files.name,
    };
    await writeFileAtomic(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifest, tensorFiles };
  } finally {
    for (const opened of sessions) await opened.release();
  }
}
