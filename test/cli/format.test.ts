import { describe, expect, it } from 'vitest';
import { formatResultTable } from '../../cli/format.js';
import type { PruneDatasetResult } from '../../workflows/pruneDataset.js';

/** Three blocks, three seeds: T = 0.3 * 0.8 = 0.24; the mean SC_1 = 0.2 < T keeps 2 blocks, seed 2 alone (0.3) keeps 1. */
const RESULT = {
  datasetName: 'd',
  scores: [0.2, 0.5, 0.8],
  decisions: [{ alpha: 0.3, threshold: 0.24, keptBlocks: 2, failedLayer: 1, reason: '' }],
  checkpoints: [{ checkpoint: '/c.onnx', parametersKept: 2, parametersTotal: 3 }],
  repeats: {
    seeds: [0, 2462723854, 1020716019],
    scores: [
      [0.15, 0.15, 0.3],
      [0.5, 0.5, 0.5],
      [0.8, 0.8, 0.8],
    ],
    spread: [0.0866, 0, 0],
    cuts: [{ alpha: 0.3, keptBlocks: [2, 2, 1], distribution: { 2: 2, 1: 1 }, stable: false }],
    stable: false,
  },
} as unknown as PruneDatasetResult;

describe('formatResultTable', () => {
  it('lists the mean curve, its spread and each seed, and says when the seeds disagree', () => {
    expect(formatResultTable(RESULT).split('\n')).toEqual([
      'dataset d: keep 2 of 3 blocks (alpha 0.3, T = 0.2400)',
      'layer  mean SC  spread    seed 0  seed 2462723854  seed 1020716019',
      '    3   0.8000   0.0000   0.8000           0.8000           0.8000  pruned',
      '    2   0.5000   0.0000   0.5000           0.5000           0.5000  kept',
      '    1   0.2000   0.0866   0.1500           0.1500           0.3000  kept, < T',
      "UNSTABLE over 3 repeats (the cut is the mean curve's):",
      '  alpha 0.3: the repeats keep 2, 2, 1 blocks',
      'checkpoint: /c.onnx',
      'parameters kept: 2 of 3',
      '',
    ]);
  });

  it('is the single-seed table without repeats', () => {
    const { repeats: _, ...single } = RESULT;
    expect(formatResultTable(single).split('\n').slice(1, 5)).toEqual([
      'layer  SC       ',
      '    3   0.8000  pruned',
      '    2   0.5000  kept',
      '    1   0.2000  kept, < T',
    ]);
  });
});
