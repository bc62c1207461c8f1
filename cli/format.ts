import type { FailureCause } from '../workflows/failureCause.js';
import type { PruneDatasetResult } from '../workflows/pruneDataset.js';

/** The SC curve with the threshold and the cut marked, one row per layer, top layer first. */
export function formatResultTable(result: PruneDatasetResult): string {
  const [first] = result.decisions;
  const lines = [
    `dataset ${result.datasetName}: keep ${first.keptBlocks} of ${result.scores.length} blocks (alpha ${first.alpha}, T = ${first.threshold.toFixed(4)})`,
  ];
  const { repeats } = result;
  const number = (value: number | null | undefined) => (value === null || value === undefined ? '   -   ' : value.toFixed(4).padStart(7));
  const seedLabels = repeats?.seeds.map((seed) => `seed ${seed}`.padStart(7)) ?? [];
  lines.push(repeats ? `layer  mean SC  spread   ${seedLabels.join('  ')}` : 'layer  SC       ');
  for (let layer = result.scores.length; layer >= 1; layer--) {
    const score = result.scores[layer - 1];
    const marks = [layer <= first.keptBlocks ? 'kept' : 'pruned', layer === first.failedLayer ? '< T' : ''].filter(Boolean).join(', ');
    const perRepeat = repeats
      ? `${number(repeats.spread[layer - 1])}  ${repeats.scores[layer - 1].map((score, repeat) => number(score).padStart(seedLabels[repeat].length)).join('  ')}  `
      : '';
    lines.push(`${String(layer).padStart(5)}  ${number(score)}  ${perRepeat}${marks}`);
  }
  for (const decision of result.decisions.slice(1))
    lines.push(`alpha ${decision.alpha}: keep ${decision.keptBlocks} (T = ${decision.threshold.toFixed(4)})`);
  if (repeats) {
    lines.push(`${repeats.stable ? 'stable' : 'UNSTABLE'} over ${repeats.seeds.length} repeats (the cut is the mean curve's):`);
    for (const cut of repeats.cuts) lines.push(`  alpha ${cut.alpha}: the repeats keep ${cut.keptBlocks.join(', ')} blocks`);
  }
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
