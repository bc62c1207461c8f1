import type { FailureCause } from '../workflows/failureCause.js';
import type { PruneDatasetResult } from '../workflows/pruneDataset.js';

/** The SC curve with the threshold and the cut marked, one row per layer, top layer first. */
export function formatResultTable(result: PruneDatasetResult): string {
  const [first] = result.decisions;
  const lines = [
    `dataset ${result.datasetName}: keep ${first.keptBlocks} of ${result.scores.length} blocks (alpha ${first.alpha}, T = ${first.threshold.toFixed(4)})`,
  ];
  lines.push('layer  SC       ');
  for (let layer = result.scores.length; layer >= 1; layer--) {
    const score = result.scores[layer - 1];
    const marks = [layer <= first.keptBlocks ? 'kept' : 'pruned', layer === first.failedLayer ? '< T' : ''].filter(Boolean).join(', ');
    lines.push(`${String(layer).padStart(5)}  ${score === null ? '   -   ' : score.toFixed(4).padStart(7)}  ${marks}`);
  }
  for (const decision of result.decisions.slice(1))
    lines.push(`alpha ${decision.alpha}: keep ${decision.keptBlocks} (T = ${decision.threshold.toFixed(4)})`);
  lines.push(`checkpoint: ${result.checkpoints[0].checkpoint}`);
  lines.push(`parameters kept: ${result.checkpoints[0].parametersKept} of ${result.checkpoints[0].parametersTotal}`);
  return `${lines.join('\n')}\n`;
}

/** A failure as the user reads it: the innermost message (file and problem), then its stage and file. */
export function formatFailureCause(cause: FailureCause): string {
  return [cause.message, cause.stage && `stage: ${cause.stage}`, cause.file && `file: ${cause.file}`].filter(Boolean).join('\n  ');
}

/** 0 without failures, 2 when every failure is bad input (the input must change), 1 otherwise. */
export function exitCodeFor(causes: readonly FailureCause[]): number {
  if (causes.length === 0) return 0;
  return causes.every((cause) => cause.badInput) ? 2 : 1;
}
