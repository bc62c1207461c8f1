import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { CutDecision } from '../lib/decide/cutRule.js';
import { type CheckpointManifest, emitCheckpoint, type HeldOutAccuracy, manifestFileName } from '../lib/emit/emit.js';
import type { SpeedComparison } from '../lib/emit/speed.js';
import { datasetDigest } from '../lib/io/datasets.js';
import { modelDigest } from '../lib/onnx/model.js';
import { artifactKey, exists, STEP_VERSIONS } from '../lib/store/artifacts.js';
import { type Provenance, reuseIfIntact, writeLineage } from '../lib/store/lineage.js';
import { failFastOnBadInput } from './failures.js';

export interface EmitInput {
  model: string;
  /** The training split the head is refit on. */
  data: string;
  /** A held-out split for the accuracy of the full, pruned and refit models. */
  evalData?: string;
  artifactRoot: string;
  decision: CutDecision;
  scores: Array<number | null>;
  batchSize?: number;
  mean?: string;
  std?: string;
  blockOutputs?: string[];
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

/** Emit step: the refit checkpoint in the shared store, and its manifest. */
export async function emitPrunedCheckpoint(input: EmitInput): Promise<EmitResult> {
  return failFastOnBadInput(async () => {
    const model = { path: input.model, sha256: await modelDigest(input.model) };
    const data = { path: input.data, sha256: await datasetDigest(input.data) };
    const evalData = input.evalData === undefined ? undefined : { path: input.evalData, sha256: await datasetDigest(input.evalData) };
    const parameters = {
      decision: input.decision,
      scores: input.scores,
      mean: input.mean,
      std: input.std,
      blockOutputs: input.blockOutputs,
    };
    const name = artifactKey({
      step: 'emit',
      version: STEP_VERSIONS.emit,
      model: model.sha256,
      data: data.sha256,
      evalData: evalData?.sha256,
      ...parameters,
    });
    const storeDir = join(input.artifactRoot, 'checkpoints');
    const manifestFile = join(storeDir, manifestFileName(name));
    const checkpointFile = join(storeDir, `${name}.onnx`);
    const context = Context.current();
    // The manifest is written last; the sidecar after it, so a checkpoint without one is rebuilt.
    const reused =
      (await exists(manifestFile)) &&
      (await reuseIfIntact(checkpointFile, (reason) => context.log.warn(`rebuilding ${checkpointFile}: ${reason}`)));
    if (!reused) {
      await emitCheckpoint(input.model, input.data, storeDir, name, input.decision, input.scores, {
        ...input,
        onProgress: (step, rowsDone, rowsTotal) => context.heartbeat({ step, rowsDone, rowsTotal }),
      });
      const inputs: Provenance['inputs'] = evalData === undefined ? { model, data } : { model, data, evalData };
      await writeLineage(checkpointFile, checkpointFile, { step: 'emit', stepVersion: STEP_VERSIONS.emit, inputs, parameters });
    }
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as CheckpointManifest;
    return {
      storeDir,
      checkpoint: join(storeDir, manifest.checkpoint),
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
