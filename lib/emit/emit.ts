/**
 * Emit: the pruned checkpoint (blocks 1..k, final norm, and a head refit on block k's normed CLS
 * features of the training split) into the checkpoint store, plus its manifest: the cut, the
 * parameters and multiply-adds kept, the held-out accuracy of the full model, the pruned model
 * with its old head and with the refit head, and the measured speed-up.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { CutDecision } from '../decide/cutRule.js';
import type { CutStability } from '../decide/repeats.js';
import { InputError } from '../errors.js';
import { blockLayout } from '../onnx/blocks.js';
import { multiplyAdds } from '../onnx/flops.js';
import { findHead, refitHeadTensors, withHeadBias } from '../onnx/head.js';
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
  /** The repeats' cuts at this alpha, for the manifest; absent for a single-seed run. */
  stability?: CutStability;
  speed?: SpeedOptions;
  onProgress?: (step: string, rowsDone: number, rowsTotal: number) => void;
}

export interface HeadRefitSummary {
  /** The tensor the head reads: the final norm applied to block k's CLS token. */
  input: string;
  weight: string;
  bias: string;
  C: number;
  iterations: number;
  converged: boolean;
  /** scikit-learn's objective (mean cross-entropy + ||W||^2 / (2 C n)) at the fit. */
  objective: number;
}

export interface HeldOutAccuracy {
  data: string;
  rows: number;
  /** (a) the full model. */
  full: number;
  /** (b) blocks 1..k with the head trained on block N. */
  prunedOriginalHead: number;
  /** (c) blocks 1..k with the refit head: the checkpoint. */
  prunedRefitHead: number;
}

export interface CheckpointManifest {
  sourceModel: string;
  trainData: string;
  blocks: number;
  keptBlocks: number;
  alpha: number;
  threshold: number;
  reason: string;
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
  /** Whether the t-SNE repeats agree on the cut; only for runs with repeats. */
  stability?: CutStability;
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

/** Writes the refit checkpoint (its tensors into the store) and then its manifest. */
export async function emitCheckpoint(
  modelPath: string,
  dataPath: string,
  files: CheckpointFiles,
  decision: CutDecision,
  scores: Array<number | null>,
  options: EmitOptions = {},
): Promise<EmittedCheckpoint> {
  const model = await loadModel(modelPath);
  const layout = blockLayout(model, modelPath, options.blockOutputs);
  const { model: pruned, head } = withHeadBias(truncateBlocks(model, layout, decision.keptBlocks), findHead(model, modelPath));
  const C = options.headC ?? DEFAULT_HEAD_C;
  const sessions: InferenceSession[] = [];
  const session = async (which: ModelProto | string) => {
    sessions.push(typeof which === 'string' ? await openModelFile(which) : await createSession(which, 'cpu', modelPath));
    return sessions[sessions.length - 1];
  };
  try {
    const prunedSession = await session(exposeTensors(pruned, [head.input]));
    const train = await openModelInputs(model, modelPath, dataPath, options);
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
      'sls.kept_blocks': String(decision.keptBlocks),
      'sls.alpha': String(decision.alpha),
      'sls.head': 'refit',
    };
    refit.metadataProps = Object.entries(metadata).map(([key, value]) => ({ key, value }));
    const { path, tensorFiles, ...storage } = await storeCheckpoint(files.model, refit);
    const refitSession = await session(path);
    const fullSession = await session(model);

    let accuracy: HeldOutAccuracy | null = null;
    const held = options.evalData === undefined ? null : await openModelInputs(model, modelPath, options.evalData, options);
    if (held !== null) {
      const outside = held.dataset.labels.find((label) => label < 0 || label >= head.classes);
      if (outside !== undefined) throw new InputError(held.dataset.source, `has label ${outside}, the model has ${head.classes} classes`);
      accuracy = {
        data: held.dataset.source,
        rows: held.dataset.rows,
        full: await accuracyOn(fullSession, held, head.output, head.classes, options, 'accuracy (full)'),
        prunedOriginalHead: await accuracyOn(prunedSession, held, head.output, head.classes, options, 'accuracy (pruned, old head)'),
        prunedRefitHead: await accuracyOn(refitSession, held, head.output, head.classes, options, 'accuracy (pruned, refit head)'),
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
      keptBlocks: decision.keptBlocks,
      alpha: decision.alpha,
      threshold: decision.threshold,
      reason: decision.reason,
      scores,
      parametersKept: parameterCount(refit),
      parametersTotal: parameterCount(model),
      multiplyAddsKept: (await multiplyAdds(refit, modelPath)).total,
      multiplyAddsTotal: (await multiplyAdds(model, modelPath)).total,
      head: {
        input: head.input,
        weight: head.weight,
        bias: head.bias as string,
        C,
        iterations: fit.iterations,
        converged: fit.converged,
        objective: fit.objective,
      },
      accuracy,
      speed,
      storage,
      checkpoint: files.name,
      stability: options.stability,
    };
    await writeFileAtomic(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifest, tensorFiles };
  } finally {
    for (const opened of sessions) await opened.release();
  }
}
