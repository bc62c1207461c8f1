import type { RatioSpread } from '../lib/emit/speed.js';
import type { CheckpointSummary } from '../workflows/pruneDataset.js';

const percent = (fraction: number) => `${(100 * fraction).toFixed(1)}%`;

/** A median speed-up with the spread of its rounds: "x2.10 (quartiles x1.95..x2.30, x1.40..x2.90 over 20 rounds)". */
function speedup(median: number, spread: RatioSpread): string {
  const range = (low: number, high: number) => `x${low.toFixed(2)}..x${high.toFixed(2)}`;
  return `x${median.toFixed(2)} (quartiles ${range(spread.q1, spread.q3)}, all ${range(spread.min, spread.max)} over ${spread.rounds.length} rounds)`;
}

/** What a checkpoint kept and what it scores, under the SC table of `sls run`. */
export function formatCheckpointReport(checkpoint: CheckpointSummary): string {
  const lines = [
    `multiply-adds kept per image: ${checkpoint.multiplyAddsKept} of ${checkpoint.multiplyAddsTotal} (${percent(checkpoint.multiplyAddsKept / checkpoint.multiplyAddsTotal)})`,
    `measured speed-up, median of interleaved rounds: latency ${speedup(checkpoint.speed.latencySpeedup, checkpoint.speed.latencySpread)}`,
    `  throughput ${speedup(checkpoint.speed.throughputSpeedup, checkpoint.speed.throughputSpread)}`,
  ];
  if (checkpoint.chosenBy.length > 1) lines.push(`shared by alphas ${checkpoint.chosenBy.map((chosen) => chosen.alpha).join(', ')}`);
  const { accuracy } = checkpoint;
  if (accuracy !== null) {
    lines.push(
      `held-out accuracy (${accuracy.rows} rows of ${accuracy.data}):`,
      `  (a) full model                 ${accuracy.full === null ? '-' : percent(accuracy.full)}`,
      `  (b) pruned, original head      ${accuracy.prunedOriginalHead === null ? '-' : percent(accuracy.prunedOriginalHead)}`,
      `  (c) pruned, refit head         ${percent(accuracy.prunedRefitHead)}`,
    );
    if (accuracy.undefinedBecause !== null) lines.push(`  (a) and (b) undefined: ${accuracy.undefinedBecause}`);
  }
  return `${lines.join('\n')}\n`;
}
