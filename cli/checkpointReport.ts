import type { CheckpointSummary } from '../workflows/pruneDataset.js';

const percent = (fraction: number) => `${(100 * fraction).toFixed(1)}%`;

/** What a checkpoint kept and what it scores, under the SC table of `sls run`. */
export function formatCheckpointReport(checkpoint: CheckpointSummary): string {
  const lines = [
    `multiply-adds kept per image: ${checkpoint.multiplyAddsKept} of ${checkpoint.multiplyAddsTotal} (${percent(checkpoint.multiplyAddsKept / checkpoint.multiplyAddsTotal)})`,
    `measured speed-up: latency x${checkpoint.speed.latencySpeedup.toFixed(2)}, throughput x${checkpoint.speed.throughputSpeedup.toFixed(2)}`,
  ];
  const { accuracy } = checkpoint;
  if (accuracy !== null) {
    lines.push(
      `held-out accuracy (${accuracy.rows} rows of ${accuracy.data}):`,
      `  (a) full model                 ${percent(accuracy.full)}`,
      `  (b) pruned, original head      ${percent(accuracy.prunedOriginalHead)}`,
      `  (c) pruned, refit head         ${percent(accuracy.prunedRefitHead)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
