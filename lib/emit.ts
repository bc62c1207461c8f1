/** Emit: the pruned checkpoint (blocks 1..k, final norm, head) as an ONNX file plus its manifest. */
import { join } from 'node:path';
import { writeFileAtomic } from './atomicWrite.js';
import type { CutDecision } from './cutRule.js';
import { blockLayout } from './onnx/blocks.js';
import { loadModel, modelMetadata, onnx, saveModel } from './onnx/model.js';
import { parameterCount, truncateBlocks } from './onnx/surgery.js';

export interface CheckpointManifest {
  sourceModel: string;
  blocks: number;
  keptBlocks: number;
  alpha: number;
  threshold: number;
  reason: string;
  /** SC_1..SC_N; null for layers the top-down walk did not need. */
  scores: Array<number | null>;
  parametersKept: number;
  parametersTotal: number;
  /** The head is the adapted model's own; refitting it on block k is a later step. */
  head: 'original';
  /** The ONNX file's name, beside this manifest. */
  checkpoint: string;
}

export const CHECKPOINT_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';

export async function emitCheckpoint(
  modelPath: string,
  outDir: string,
  decision: CutDecision,
  scores: Array<number | null>,
  blockOutputs?: string[],
): Promise<CheckpointManifest> {
  const model = await loadModel(modelPath);
  const layout = blockLayout(model, modelPath, blockOutputs);
  const pruned = truncateBlocks(model, layout, decision.keptBlocks);
  const metadata = { ...modelMetadata(model), 'sls.kept_blocks': String(decision.keptBlocks), 'sls.alpha': String(decision.alpha) };
  pruned.metadataProps = Object.entries(metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  const checkpoint = join(outDir, CHECKPOINT_FILE);
  await saveModel(checkpoint, pruned);
  const manifest: CheckpointManifest = {
    sourceModel: modelPath,
    blocks: layout.blockOutputs.length,
    keptBlocks: decision.keptBlocks,
    alpha: decision.alpha,
    threshold: decision.threshold,
    reason: decision.reason,
    scores,
    parametersKept: parameterCount(pruned),
    parametersTotal: parameterCount(model),
    head: 'original',
    checkpoint: CHECKPOINT_FILE,
  };
  await writeFileAtomic(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
