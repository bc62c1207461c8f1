/** The PCA kernel's units of work: the 64 x 64 blocks on and above the diagonal of an m x m matrix. */
import { describe, expect, it } from 'vitest';
import { ROW_PRODUCTS_BLOCK, rowProductUnits } from '../../../lib/embed/tsne/rowProductsKernel.js';

describe('rowProductUnits', () => {
  it('counts the blocks on and above the diagonal', () => {
    expect(ROW_PRODUCTS_BLOCK).toBe(64);
    // 1 block a side: 1. 2 blocks: 2 + 1 = 3. 12 blocks (768 = 12 x 64): 12 * 13 / 2 = 78.
    expect(rowProductUnits(1)).toBe(1);
    expect(rowProductUnits(64)).toBe(1);
    expect(rowProductUnits(65)).toBe(3);
    expect(rowProductUnits(128)).toBe(3);
    expect(rowProductUnits(129)).toBe(6);
    expect(rowProductUnits(768)).toBe(78);
  });

  it('equals a count of the blocks that hold some entry (r, c), c >= r, of the matrix', () => {
    for (const m of [1, 2, 63, 64, 65, 200, 257]) {
      const blocks = new Set<string>();
      for (let r = 0; r < m; r++) for (let c = r; c < m; c++) blocks.add(`${Math.floor(r / 64)},${Math.floor(c / 64)}`);
      expect(rowProductUnits(m)).toBe(blocks.size);
    }
  });
});
