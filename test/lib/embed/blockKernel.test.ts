/** copyCentred: rows of features, minus the mean, into the block kernel's padded f32 rows. */
import { describe, expect, it } from 'vitest';
import { copyCentred } from '../../../lib/embed/tsne/blockKernel.js';

describe('copyCentred', () => {
  it('copies rows firstRow .. firstRow + count - 1 minus the mean, leaving the padding lanes alone', () => {
    // Three rows of d = 3; rows 1 and 2 minus (1, 2, 3) into rows of 4 (the fourth lane is padding).
    const features = Float32Array.from([9, 9, 9, 4, 4, 4, 1, 2, 10]);
    const padded = new Float32Array(8).fill(-7);
    copyCentred(features, 1, 2, 3, Float64Array.from([1, 2, 3]), padded);
    expect(Array.from(padded)).toEqual([3, 2, 1, -7, 0, 0, 7, -7]);
  });

  it('subtracts the float64 mean, then rounds to f32 once', () => {
    // 1 - 1/3 in f64 is 0.666..., whose f32 is 0.66666669; 1 minus the f32 of 1/3 would give 0.66666663.
    const padded = new Float32Array(4);
    copyCentred(Float32Array.from([1]), 0, 1, 1, Float64Array.from([1 / 3]), padded);
    expect(padded[0]).toBe(Math.fround(2 / 3));
    expect(padded[0]).not.toBe(Math.fround(1 - Math.fround(1 / 3)));
  });
});
