import { describe, expect, it } from 'vitest';
import { formatCheckpointReport } from '../../cli/checkpointReport.js';
import type { CheckpointSummary } from '../../workflows/pruneDataset.js';

const spread = (min: number, q1: number, q3: number, max: number) => ({ min, q1, q3, max, rounds: [min, q1, q3, max] });

function summary(overrides: Partial<CheckpointSummary> = {}): CheckpointSummary {
  return {
    alpha: 0.3,
    storeDir: '/store',
    checkpoint: '/store/k.onnx',
    manifestFile: '/store/k.json',
    keptBlocks: 2,
    chosenBy: [{ alpha: 0.3, threshold: 0.19, failedLayer: 1, reason: '' }],
    parametersKept: 10,
    parametersTotal: 20,
    multiplyAddsKept: 250,
    multiplyAddsTotal: 1000,
    accuracy: null,
    speed: {
      latencySpeedup: 2.5,
      latencySpread: spread(1.2, 2.25, 2.75, 4),
      throughputSpeedup: 3,
      throughputSpread: spread(2.5, 2.9, 3.1, 3.5),
    },
    ...overrides,
  };
}

describe('formatCheckpointReport', () => {
  it('gives each speed-up with its quartiles and its whole range of rounds', () => {
    expect(formatCheckpointReport(summary())).toBe(
      [
        'multiply-adds kept per image: 250 of 1000 (25.0%)',
        'measured speed-up, median of interleaved rounds: latency x2.50 (quartiles x2.25..x2.75, all x1.20..x4.00 over 4 rounds)',
        '  throughput x3.00 (quartiles x2.90..x3.10, all x2.50..x3.50 over 4 rounds)',
        '',
      ].join('\n'),
    );
  });

  it('names the alphas sharing the checkpoint, and why (a) and (b) are undefined for a new head', () => {
    const chosenBy = [0.2, 0.3, 0.6].map((alpha) => ({ alpha, threshold: alpha, failedLayer: 1, reason: '' }));
    const accuracy = {
      data: 'test.arrow',
      rows: 8,
      full: null,
      prunedOriginalHead: null,
      prunedRefitHead: 0.875,
      undefinedBecause: 'no head',
    };
    const lines = formatCheckpointReport(summary({ chosenBy, accuracy })).split('\n');
    expect(lines.slice(3)).toEqual([
      'shared by alphas 0.2, 0.3, 0.6',
      'held-out accuracy (8 rows of test.arrow):',
      '  (a) full model                 -',
      '  (b) pruned, original head      -',
      '  (c) pruned, refit head         87.5%',
      '  (a) and (b) undefined: no head',
      '',
    ]);
  });
});
