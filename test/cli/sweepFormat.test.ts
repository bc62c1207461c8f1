import { describe, expect, it } from 'vitest';
import { formatSweepStatus, progressBar } from '../../cli/sweepFormat.js';

describe('progressBar', () => {
  it('fills round(fraction x 30) of 30 cells', () => {
    expect(progressBar(0)).toBe('░'.repeat(30));
    expect(progressBar(0.5)).toBe(`${'█'.repeat(15)}${'░'.repeat(15)}`);
    // 0.25 x 30 = 7.5 rounds to 8
    expect(progressBar(0.25)).toBe(`${'█'.repeat(8)}${'░'.repeat(22)}`);
    expect(progressBar(1)).toBe('█'.repeat(30));
  });
});

describe('formatSweepStatus', () => {
  it('prints the counts and one row per child with its stage, cut or error, and whether its repeats agree', () => {
    const text = formatSweepStatus({
      sweepId: 'sweep-n-0123',
      name: 'n',
      alphas: [0.3, 0.6],
      total: 4,
      pending: 1,
      running: 1,
      done: 1,
      failed: 1,
      workflowStatus: 'RUNNING',
      children: [
        { childId: 'a', datasetName: 'cifar', modelName: 'vit', seed: 0, status: 'done', keptBlocks: [8, 10], blocks: 12, stable: false },
        { childId: 'b', datasetName: 'dtd', modelName: 'vit', seed: 1, status: 'running' },
        {
          childId: 'c',
          datasetName: 'svhn',
          modelName: 'own',
          seed: 0,
          status: 'failed',
          error: '/d/svhn.arrow: the dataset has one class',
          stage: 'extract',
          file: '/d/svhn.arrow',
          badInput: true,
        },
        { childId: 'd', datasetName: 'eurosat', modelName: 'vit', seed: 0, status: 'pending' },
      ],
      stages: { b: { stage: 'embed', scored: 3, layers: 12 } },
    });
    // Two of four finished: 15 of 30 cells.
    expect(text).toBe(
      [
        'sweep n (sweep-n-0123): RUNNING',
        `${'█'.repeat(15)}${'░'.repeat(15)} 1/4 done, 1 running, 1 failed, 1 pending`,
        'dataset  model  seed  status   stable  detail (alpha 0.3, 0.6)',
        'cifar    vit    0     done     no      kept 8, 10 of 12 blocks',
        'dtd      vit    1     running  -       embed (3/12 layers scored)',
        'svhn     own    0     failed   -       extract: /d/svhn.arrow: the dataset has one class',
        'eurosat  vit    0     pending  -',
        '',
      ].join('\n'),
    );
  });
});
