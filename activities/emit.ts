import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Context } from '@temporalio/activity';
import {
  type CheckpointManifest,
  type ChosenBy,
  type ChosenDecision,
  emitCheckpoint,
  type HeldOutAccuracy,
  sharedKeptBlocks,
} from '../lib/emit/emit.js';
import type { SpeedComparison } from '../lib/emit/speed.js';
import { datasetDigest } from '../lib/io/datasets.js';
import type { ModelOptions } from '../lib/onnx/inference.js';
import { modelDigest } from '../lib/onnx/model.js';
import { runStep, type StepDefinition, type StepInput } from '../lib/store/step.js';
import { failFastOnBadInput } from './failures.js';
import { type HostSettings, onHost } from './host.js';

export interface EmitInput extends ModelOptions {
  model: string;
  /** The training split the head is refit on. */
  data: string;
  /** A held-out split for the accuracy of the full, pruned and refit models. */
  evalData?: string;
  /**
   * Extract's features of block k for `data`: the head refit reads them instead of another
   * forward pass. Not in the key: the model, the data and the preprocessing determine them.
   */
  trainFeatures?: string;
  artifactRoot: string;
  /** The alphas' decisions that keep one depth: one checkpoint serves them all. */
  decisions: ChosenDecision[];
  scores: Array<number | null>;
}

export interface EmitResult {
  /** The checkpoint store: every dataset's checkpoints and the tensors they share. */
  storeDir: string;
  checkpoint: string;
  manifestFile: string;
  keptBlocks: number;
  /** The alphas that chose this depth when the checkpoint was built. */
  chosenBy: ChosenBy[];
  parametersKept: number;
  parametersTotal: number;
  multiplyAddsKept: number;
  multiplyAddsTotal: number;
  accuracy: HeldOutAccuracy | null;
  speed: Pick<SpeedComparison, 'latencySpeedup' | 'latencySpread' | 'throughputSpeedup' | 'throughputSpread'>;
  reused: boolean;
}

/**
 * What determines a checkpoint: the model, the splits, the kept depth and the preprocessing (not
 * the batch size). Not which alphas chose the depth, nor the scores (which layers the walk scored
 * depends on the alphas): the lineage notes them. Emit version 3: version 2 keyed on the decision
 * and the scores, so that each alpha had its own checkpoint of the same model. Version 4: the
 * manifest's speed rounds stop at a time budget too, and it says how many and why.
 */
export async function emitStep(input: EmitInput): Promise<StepDefinition> {
  const keptBlocks = sharedKeptBlocks(input.decisions);
  const inputs: Record<string, StepInput> = {
    model: { path: input.model, sha256: await modelDigest(input.model) },
    data: { path: input.data, sha256: await datasetDigest(input.data) },
  };
  if (input.evalData !== undefined) inputs.evalData = { path: input.evalData, sha256: await datasetDigest(input.evalData) };
  return {
    root: input.artifactRoot,
    kind: 'checkpoints',
    step: 'emit',
    inputs,
    parameters: { keptBlocks, mean: input.mean, std: input.std, blockOutputs: input.blockOutputs },
    notes: { alphas: input.decisions.map((decision) => decision.alpha), scores: input.scores },
    layout: '.onnx',
    // The manifest, <key>.json; the shared tensors the checkpoint references are verified with it.
    companions: ['.json'],
  };
}

/** Emit step: the refit checkpoint in the shared store, and its manifest. */
export async function emitPrunedCheckpoint(input: EmitInput, settings: HostSettings = {}): Promise<EmitResult> {
  return failFastOnBadInput(async () => {
    const context = Context.current();
    const {
      path: checkpoint,
      companions: [manifestFile],
      reused,
    } = await runStep({
      ...(await emitStep(input)),
      build: async ({ temporary, companions: [manifestTemporary], references, artifact }) => {
        // The refit and accuracy passes are busy work; the speed rounds have the host to themselves.
        const { tensorFiles } = await onHost(settings, (turn) =>
          emitCheckpoint(
            input.model,
            input.data,
            { model: temporary, manifest: manifestTemporary, name: basename(artifact.path) },
            input.decisions,
            input.scores,
            {
              ...input,
              // Waits as the busy hold does: heartbeating, and ending on cancellation.
              measureAlone: turn.alone,
              onProgress: (step, rowsDone, rowsTotal) => context.heartbeat({ step, rowsDone, rowsTotal }),
            },
          ),
        );
        for (const file of tensorFiles) references.add(file);
      },
      onDamaged: (path, reason) => context.log.warn(`rebuilding ${path}: ${reason}`),
    });
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as CheckpointManifest;
    return {
      storeDir: dirname(checkpoint),
      checkpoint,
      manifestFile,
      keptBlocks: manifest.keptBlocks,
      chosenBy: manifest.chosenBy,
      parametersKept: manifest.parametersKept,
      parametersTotal: manifest.parametersTotal,
      multiplyAddsKept: manifest.multiplyAddsKept,
      multiplyAddsTotal: manifest.multiplyAddsTotal,
      accuracy: manifest.accuracy,
      speed: {
        latencySpeedup: manifest.speed.latencySpeedup,
        latencySpread: manifest.speed.latencySpread,
        throughputSpeedup: manifest.speed.throughputSpeedup,
        throughputSpread: manifest.speed.throughputSpread,
      },
      reused,
    };
  });
}
