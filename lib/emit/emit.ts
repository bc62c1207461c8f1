/**
 * Emit: the pruned checkpoint (blocks 1..k, final norm, and a head refit on block k's normed CLS
 * features of the training split) into the checkpoint store, plus its manifest: the cut, the
 * parameters and multiply-adds kept, the held-out accuracy of the full model, the pruned model
 * with its old head and with the refit head, and the measured speed-up. One checkpoint per kept
 * depth: every alpha that chose it is listed in the manifest. A backbone exported without a head
 * gets a new linear head on its final norm, fit the same way.
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import type { CutDecision } from '../decide/cutRule.js';
import type { CutStability } from '../decide/repeats.js';
import { InputError } from '../errors.js';
import { readFeatures } from '../io/arrowTensors.js';
import { blockLayout } from '../onnx/blocks.js';
import { multiplyAdds } from '../onnx/flops.js';
import { appendLinearHead, findHead, type HeadLayout, headlessFinalNorm, refitHeadTensors, withHeadBias } from '../onnx/head.js';
import { collectOutputs, type ModelInputs, type ModelOptions, openModelFile, openModelInputs, readImages } from '../onnx/inference.js';
import { loadModel, type ModelProto, modelMetadata } from '../onnx/model.js';
import { createSession } from '../onnx/session.js';
import { exposeTensors, parameterCount, replaceInitializers, subgraphFrom, truncateBlocks } from '../onnx/surgery.js';
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
/** Training rows run through the pruned model to check the extracted features' route to the head. */
const PROBE_ROWS = 8;
/**
 * Largest difference between the two routes, relative to the largest value, that counts as the
 * same: features extracted on CUDA differ from the CPU's by about 1.2e-4; a head that reads other
 * tokens than the CLS token differs by far more.
 */
const ROUTE_TOLERANCE = 1e-3;

export interface EmitOptions extends ModelOptions {
  /** A labelled held-out split: accuracy (a)/(b)/(c) is measured on it when given. */
  evalData?: string;
  /**
   * Block k's CLS features of the training split (extract's layer-k file): the head refit reads
   * them through the final norm instead of running the split through k blocks again.
   */
  trainFeatures?: string;
  headC?: number;
  speed?: SpeedOptions;
  /**
   * Runs the speed comparison with the host to itself (the worker's QuietHost: no t-SNE, forward
   * pass or other emit beside it); as it comes without one.
   */
  measureAlone?: <T>(measure: () => Promise<T>) => Promise<T>;
  onProgress?: (step: string, rowsDone: number, rowsTotal: number) => void;
}

export interface HeadRefitSummary {
  /** The tensor the head reads: the final norm applied to block k's CLS token. */
  input: string;
  weight: string;
  bias: string;
  /** True where the export had no head and emit appended this one (accuracy (a) and (b) are then undefined). */
  appended: boolean;
  /** The extracted block-k features the fit read through the final norm; null where it ran the split through the pruned model. */
  featuresFile: string | null;
  /** Why the given features were not used; null where they were, or none were given. */
  forwardPassBecause: string | null;
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

/** The largest difference of a from b, relative to b's largest magnitude. */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  let [difference, scale] = [0, 0];
  for (let i = 0; i < b.length; i++) {
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return difference / scale;
}

/** The head's input for every training row, and where it came from. */
interface HeadInputs {
  values: Float32Array;
  featuresFile: string | null;
  forwardPassBecause: string | null;
}

/**
 * The head's input for every training row from block k's extracted CLS features: the part of the
 * pruned model between block k's output and the head, fed each CLS token as a one-token sequence.
 * That equals the forward pass only where that part treats tokens alone and the head reads token 0
 * (a CLS head, not a mean over tokens), and only for this split's features: the first rows of both
 * routes are compared. A string says why the features cannot be used.
 */
async function headInputsFromFeatures(
  pruned: ModelProto,
  prunedSession: InferenceSession,
  keptOutput: string,
  head: HeadLayout,
  train: ModelInputs,
  featuresFile: string,
): Promise<Float32Array | string> {
  const part = subgraphFrom(pruned, keptOutput, head.input);
  if (part === null) return `the head's input needs more than block k's output (${keptOutput})`;
  const features = await readFeatures(featuresFile);
  const { labels, rows } = train.dataset;
  if (features.rows !== rows || features.labels.some((label, row) => label !== labels[row])) {
    return `${featuresFile} holds ${features.rows} rows whose labels are not the training split's`;
  }
  const session = await createSession(part, 'cpu', train.modelPath);
  try {
    const throughPart = async (values: Float32Array, count: number) => {
      const fed = new Tensor('float32', values, [count, 1, features.dim]);
      const output = (await session.run({ [keptOutput]: fed }, [head.input]))[head.input];
      return output.data as Float32Array;
    };
    // The first rows by the pruned model itself: block k's CLS token, and the head's input.
    const probe = Math.min(PROBE_ROWS, rows);
    const batch = train.input.fixedBatch ?? probe;
    const images = new Float32Array(batch * train.input.channels * train.input.height * train.input.width);
    images.set(await readImages(train, 0, probe));
    const feeds = {
      [train.input.name]: new Tensor('float32', images, [batch, train.input.channels, train.input.height, train.input.width]),
    };
    const own = await prunedSession.run(feeds, [keptOutput, head.input]);
    const [, tokens, dim] = own[keptOutput].dims;
    const cls = new Float32Array(probe * dim);
    for (let row = 0; row < probe; row++) {
      cls.set((own[keptOutput].data as Float32Array).subarray(row * tokens * dim, row * tokens * dim + dim), row * dim);
    }
    const extracted = features.values.subarray(0, probe * features.dim);
    if (dim !== features.dim || relativeDifference(extracted, cls) > ROUTE_TOLERANCE) {
      return `${featuresFile} is not block k's CLS token (${keptOutput}) as the pruned model computes it`;
    }
    const ownHead = (own[head.input].data as Float32Array).subarray(0, probe * head.dim);
    let probed: Float32Array;
    try {
      probed = await throughPart(extracted, probe);
    } catch (error) {
      return `the part after block k does not run on the CLS token alone: ${(error as Error).message}`;
    }
    if (relativeDifference(probed, ownHead) > ROUTE_TOLERANCE) {
      return "the head's input is not the final norm of the CLS token alone (it reads other tokens)";
    }
    return await throughPart(features.values, rows);
  } finally {
    await session.release();
  }
}

/** The head's input for every training row: from the given features where they fit, else a forward pass. */
async function headInputs(
  pruned: ModelProto,
  prunedSession: InferenceSession,
  keptOutput: string,
  head: HeadLayout,
  train: ModelInputs,
  options: EmitOptions,
): Promise<HeadInputs> {
  const { trainFeatures } = options;
  const fromFeatures =
    trainFeatures === undefined ? null : await headInputsFromFeatures(pruned, prunedSession, keptOutput, head, train, trainFeatures);
  if (fromFeatures instanceof Float32Array)
    return { values: fromFeatures, featuresFile: trainFeatures as string, forwardPassBecause: null };
  const { values } = (
    await collectOutputs(prunedSession, train, [head.input], {
      ...options,
      onBatch: (done, total) => options.onProgress?.('features', done, total),
    })
  )[head.input];
  return { values, featuresFile: null, forwardPassBecause: fromFeatures };
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
    const keptOutput = layout.blockOutputs[keptBlocks - 1];
    const prunedSession = await session(exposeTensors(pruned, [head.input, keptOutput]));
    const features = await headInputs(pruned, prunedSession, keptOutput, head, train, options);
    options.onProgress?.('head refit', 0, HEAD_MAX_ITERATIONS);
    let reported = performance.now();
    const fit = await fitLogisticRegressionOffThread(features.values, train.dataset.labels, head.dim, {
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
      const full = appended ? null : await measure(fullSession, 'accuracy (full)');
      accuracy = {
        data: held.dataset.source,
        rows: held.dataset.rows,
        full,
        // Keeping every block, the pruned model with its old head is the full model.
        prunedOriginalHead:
          appended || keptBlocks === layout.blockOutputs.length ? full : await measure(prunedSession, 'accuracy (pruned, old head)'),
        prunedRefitHead: await measure(refitSession, 'accuracy (pruned, refit head)'),
        undefinedBecause: appended ? NEW_HEAD_ACCURACY : null,
      };
    }
    const timed = held ?? train;
    const images = await readImages(timed, 0, Math.min(SPEED_BATCH, timed.dataset.rows));
    const measureAlone = options.measureAlone ?? ((measure) => measure());
    const speed = await measureAlone(() =>
      compareSpeed(fullSession, refitSession, timed.input, images, {
        ...options.speed,
        onRound: (roundsDone, roundsTotal) => options.onProgress?.('speed', roundsDone, roundsTotal),
      }),
    );

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
        featuresFile: features.featuresFile,
        forwardPassBecause: features.forwardPassBecause,
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
