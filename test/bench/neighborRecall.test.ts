/** bench/neighborRecall.ts: the recall metric bench/neighbors.ts reports, against known recalls. */
import { describe, expect, it } from 'vitest';
import { neighborRecall } from '../../bench/neighborRecall.js';
import { exactNeighbors } from '../../lib/embed/tsne/neighbors.js';
import { bruteForceScan, clustered } from '../helpers/neighbors.js';

describe('neighborRecall', () => {
  it('reports the recall the oracle measures', async () => {
    const m = 600;
    const small = clustered(m, 16, 4, 3, 2);
    // Half the neighbours of every point replaced by its farthest points: a known recall below 1.
    const exact = await exactNeighbors(small, m, 16, 10);
    const spoiled = { k: 10, indices: exact.indices.slice(), sqDistances: exact.sqDistances.slice() };
    for (let i = 0; i < m; i++) {
      const farthest = bruteForceScan(small, m, 16, i).slice(-5);
      for (let r = 0; r < 5; r++) spoiled.indices[i * 10 + 5 + r] = farthest[r].j;
    }
    expect(neighborRecall(small, m, 16, exact, m)).toBe(1);
    expect(neighborRecall(small, m, 16, spoiled, m)).toBe(0.5);
    expect(neighborRecall(small, m, 16, spoiled, 50, 3)).toBe(0.5);
  });
});
