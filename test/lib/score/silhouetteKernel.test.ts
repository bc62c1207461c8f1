/**
 * sumBlocks: the silhouette kernel's row and column distance sums, block by block of class-sorted
 * points, against a hand-computed case and a brute-force double loop.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { type DistanceSumsJob, sumBlocks } from '../../../lib/score/silhouetteKernel.js';

/** A job for `points` (row-major, already sorted by class) cut at `blockStarts`; outputs start as NaN. */
function job(points: number[][], classStarts: number[], blockStarts: number[]): DistanceSumsJob {
  const n = points.length;
  const dim = points[0].length;
  const classCount = classStarts.length - 1;
  const coordinates = new Float64Array(n * dim);
  for (let q = 0; q < n; q++) for (let axis = 0; axis < dim; axis++) coordinates[axis * n + q] = points[q][axis];
  const blocks = blockStarts.length - 1;
  const columnStart = new Int32Array(blocks + 1);
  for (let b = 0; b < blocks; b++) columnStart[b + 1] = columnStart[b] + n - blockStarts[b] - 1;
  return {
    n,
    dim,
    classCount,
    coordinates,
    classStart: Int32Array.from(classStarts),
    blockStart: Int32Array.from(blockStarts),
    columnStart,
    rowSums: new Float64Array(n * classCount).fill(Number.NaN),
    columnSums: new Float64Array(columnStart[blocks]).fill(Number.NaN),
  };
}

describe('sumBlocks', () => {
  it('matches a hand-computed case', () => {
    // A (0, 0) and B (3, 4) in class 0, C (0, 4) and D (3, 0) in class 1; blocks [A] [B] [C D].
    // AB = 5, AC = 4, AD = 3, BC = 3, BD = 4, CD = 5.
    const sums = job(
      [
        [0, 0],
        [3, 4],
        [0, 4],
        [3, 0],
      ],
      [0, 2, 4],
      [0, 1, 2, 4],
    );
    sumBlocks(sums);
    // Row p, class c: the distances from p to the points of c after p (0 for classes before p's).
    // A: B = 5 | C + D = 7.   B: 0 | 3 + 4 = 7.   C: 0 | D = 5.   D: 0 | 0.
    expect(Array.from(sums.rowSums)).toEqual([5, 7, 0, 7, 0, 5, 0, 0]);
    // Block [A], columns B C D: 5 4 3.   Block [B], columns C D: 3 4.   Block [C D], column D: 5.
    expect(Array.from(sums.columnStart)).toEqual([0, 3, 5, 6]);
    expect(Array.from(sums.columnSums)).toEqual([5, 4, 3, 3, 4, 5]);
  });

  it('equals brute-force sums on random points, blocks of every size, in 1 to 3 dimensions', () => {
    const random = new SeededRandom(4);
    // Classes of 9, 1, 14 and 7 points; blocks cut inside classes, of 1 to 9 points.
    const classStarts = [0, 9, 10, 24, 31];
    const blockStarts = [0, 4, 9, 10, 13, 22, 24, 25, 31];
    const n = 31;
    for (const dim of [1, 2, 3]) {
      const points = Array.from({ length: n }, () => Array.from({ length: dim }, () => random.nextGaussian()));
      const sums = job(points, classStarts, blockStarts);
      sumBlocks(sums);
      const classOf = (q: number): number => classStarts.filter((start) => start <= q).length - 1;
      const distance = (p: number, q: number): number => Math.hypot(...points[p].map((x, axis) => x - points[q][axis]));
      for (let p = 0; p < n; p++) {
        for (let c = 0; c < classStarts.length - 1; c++) {
          let expected = 0;
          for (let q = p + 1; q < n; q++) if (classOf(q) === c) expected += distance(p, q);
          expect(sums.rowSums[p * 4 + c]).toBeCloseTo(expected, 12);
        }
      }
      for (let b = 0; b < blockStarts.length - 1; b++) {
        for (let q = blockStarts[b] + 1; q < n; q++) {
          let expected = 0;
          for (let p = blockStarts[b]; p < Math.min(q, blockStarts[b + 1]); p++) expected += distance(p, q);
          expect(sums.columnSums[sums.columnStart[b] + q - blockStarts[b] - 1]).toBeCloseTo(expected, 12);
        }
      }
    }
  });
});
