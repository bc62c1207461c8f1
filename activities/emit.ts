import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKey, contentDigest, exists, STEP_VERSIONS } from '../lib/artifacts.js';
import { publishDirectory } from '../lib/atomicWrite.js';
import type { CutDecision } from '../lib/cutRule.js';
import { CHECKPOINT_FILE, type CheckpointManifest, emitCheckpoint, MANIFEST_FILE } from '../lib/emit.js';
import { failFastOnBadInput } from './failures.js';

export interface EmitInput {
  model: string;
  artifactRoot: string;
  decision: CutDecision;
  scores: Array<number | null>;
  blockOutputs?: string[];
}

export interface EmitResult {
  checkpointDir: string;
  checkpoint: string;
  manifestFile: string;
  keptBlocks: number;
  parametersKept: number;
  parametersTotal: number;
  reused: boolean;
}

/** Emit step: the pruned ONNX checkpoint and its manifest. */
export async function emitPrunedCheckpoint(input: EmitInput): Promise<EmitResult> {
  return failFastOnBadInput(async () => {
    const key = artifactKey({
      step: 'emit',
      version: STEP_VERSIONS.emit,
      model: await contentDigest(input.model),
      decision: input.decision,
      scores: input.scores,
      blockOutputs: input.blockOutputs,
    });
    const checkpointDir = join(input.artifactRoot, 'checkpoints', key);
    const manifestFile = join(checkpointDir, MANIFEST_FILE);
    const reused = await exists(manifestFile);
    if (!reused) {
      await publishDirectory(checkpointDir, (dir) =>
        emitCheckpoint(input.model, dir, input.decision, input.scores, input.blockOutputs).then(() => undefined),
      );
    }
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as CheckpointManifest;
    return {
      checkpointDir,
      checkpoint: join(checkpointDir, CHECKPOINT_FILE),
      manifestFile,
      keptBlocks: manifest.keptBlocks,
      parametersKept: manifest.parametersKept,
      parametersTotal: manifest.parametersTotal,
      reused,
    };
  });
}
