import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Context } from '@temporalio/activity';
import type { CutDecision } from '../lib/decide/cutRule.js';
import type { CutStability } from '../lib/decide/repeats.js';
import { type CheckpointManifest, emitCheckpoint, type HeldOutAccuracy } from '../lib/emit/emit.js';
import type { SpeedComparison } from '../lib/emit/speed.js';
import { datasetDigest } from '../lib/io/datasets.js';
import type { ModelOptions } from '../lib/onnx/inference.js';
import { modelDigest } from '../lib/onnx/model.js';
import { runStep, type StepDefinition, type StepInput } from '../lib/store/step.js';
import { failFastOnBadInput } from './failures.js';

export interface EmitInput extends ModelOptions {
  model: string;
  /** The training split the head is refit on. */
  data: string;
  /** A held-out split for the accuracy of the full, pruned and refit models. */
  evalData?: string;
  artifactRoot: string;
  decision: CutDecision;
  scores: Array<number | null>;
  /** The repeats' cuts, written into the manifest (and so part of its name); absent for one seed. */
  stability?: CutStability;
}

export interface EmitResult {
  /** The checkpoint store: every dataset's checkpoints and the tensors they share. */
  storeDir: string;
  checkpoint: string;
  manifestFile: string;
  keptBlocks: number;
  parametersKept: number;
  parametersTotal: number;
  multiplyAddsKept: number;
  multiplyAddsTotal: number;
  accuracy: HeldOutAccuracy | null;
  speed: Pick<SpeedComparison, 'latencySpeedup' | 'throughputSpeedup'>;
  reused: boolean;
}

/** What determines a checkpoint: the model, the splits, the cut and the preprocessing (not the batch size). */
export async function emitStep(input: EmitInput): Promise<StepDefinition> {
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
    parameters: {
      decision: input.decision,
      scores: input.scores,
      stability: input.stability,
      mean: input.mean,
      std: input.std,
      blockOutputs: input.blockOutputs,
    },
    layout: '.onnx',
    // The manifest, <key>.json; the shared tensors the checkpoint references are verified with it.
    companions: ['.json'],
  };
}

/** Emit step: the refit checkpoint in the shared store, and its manifest. */
export async function emitPrunedCheckpoint(input: EmitInput): Promise<EmitResult> {
  return failFastOnBadInput(async () => {
    const context = Context.current();
    const {
      path: checkpoint,
      companions: [manifestFile],
      reused,
    } = await runStep({
      ...(await emitStep(input)),
      build: async ({ temporary, companions: [manifestTemporary], references, artifact }) => {
        const { tensorFiles } = await emitCheckpoint(
          input.model,
          input.data,
          { model: temporary, manifest: manifestTemporary, name: basename(artifact.path) },
          input.decision,
          input.scores,
          { ...input, onProgress: (step, rowsDone, rowsTotal) => context.heartbeat({ step, rowsDone, rowsTotal }) },
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
      parametersKept: manifest.parametersKept,
      parametersTotal: manifest.parametersTotal,
      multiplyAddsKept: manifest.multiplyAddsKept,
      multiplyAddsTotal: manifest.multiplyAddsTotal,
      accuracy: manifest.accuracy,
      speed: { latencySpeedup: manifest.speed.latencySpeedup, throughputSpeedup: manifest.speed.throughputSpeedup },
      reused,
    };
  });
}
