/**
 * The pieces every kNN search shares: the float64 squared distance, and the bounded max-heaps
 * (offer, sortHeap) that keep each point's k nearest, ties to the smaller index.
 */
import { describe, expect, it } from 'vitest';
import { offer, sortHeap, squaredDistance } from '../../../lib/embed/tsne/neighborHeap.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';

/** (distance, index) pairs nearest first, ties to the smaller index: the order the heaps promise. */
function nearestFirst(entries: { distance: number; index: number }[]): { distance: number; index: number }[] {
  return [...entries].sort((p, q) => p.distance - q.distance || p.index - q.index);
}

describe('squaredDistance', () => {
  it('matches a hand-computed case', () => {
    // (1, 2, 3, 4, 5) - (0, 0, 1, 0, 9) = (1, 2, 2, 4, -4): 1 + 4 + 4 + 16 + 16 = 41.
    const features = Float32Array.from([7, 1, 2, 3, 4, 5, 0, 0, 1, 0, 9]);
    expect(squaredDistance(features, 1, 6, 5)).toBe(41);
    expect(squaredDistance(features, 6, 1, 5)).toBe(41);
    expect(squaredDistance(features, 1, 1, 5)).toBe(0);
  });

  it('equals a plain float64 loop for every row length (the four-lane body and the remainder)', () => {
    const random = new SeededRandom(3);
    for (let d = 1; d <= 13; d++) {
      const features = Float32Array.from({ length: 3 * d + 2 }, () => random.nextGaussian());
      let plain = 0;
      for (let a = 0; a < d; a++) plain += (features[2 + a] - features[2 + 2 * d + a]) ** 2;
      expect(squaredDistance(features, 2, 2 + 2 * d, d)).toBeCloseTo(plain, 12);
    }
  });
});

describe('offer and sortHeap', () => {
  it('keep the k nearest of every offer, nearest first, ties in distance to the smaller index', () => {
    const random = new SeededRandom(11);
    const points = 3;
    const k = 6;
    const heapDistance = new Float64Array(points * k);
    const heapIndex = new Int32Array(points * k);
    const heapSize = new Int32Array(points);
    const offered: { distance: number; index: number }[][] = [[], [], []];
    for (let t = 0; t < 60; t++) {
      const i = t % points;
      // Distances among few values, so that many ties are offered in every order.
      const distance = Math.floor(random.nextFloat() * 5);
      const index = Math.floor(random.nextFloat() * 1000);
      offer(heapDistance, heapIndex, heapSize, k, i, distance, index);
      offered[i].push({ distance, index });
    }
    for (let i = 0; i < points; i++) {
      expect(heapSize[i]).toBe(k);
      const expected = nearestFirst(offered[i]).slice(0, k);
      // Before sorting, the heap's first entry is the farthest kept.
      expect({ distance: heapDistance[i * k], index: heapIndex[i * k] }).toEqual(expected[k - 1]);
      sortHeap(heapDistance, heapIndex, i * k, k);
      const kept = Array.from({ length: k }, (_, r) => ({ distance: heapDistance[i * k + r], index: heapIndex[i * k + r] }));
      expect(kept).toEqual(expected);
    }
  });

  it('keep every offer while fewer than k came', () => {
    const k = 5;
    const heapDistance = new Float64Array(2 * k);
    const heapIndex = new Int32Array(2 * k);
    const heapSize = new Int32Array(2);
    for (const [distance, index] of [
      [2, 7],
      [0.5, 3],
      [2, 1],
    ])
      offer(heapDistance, heapIndex, heapSize, k, 1, distance, index);
    expect(Array.from(heapSize)).toEqual([0, 3]);
    sortHeap(heapDistance, heapIndex, k, heapSize[1]);
    expect(Array.from(heapIndex.subarray(k, k + 3))).toEqual([3, 1, 7]);
    expect(Array.from(heapDistance.subarray(k, k + 3))).toEqual([0.5, 2, 2]);
  });

  it('sortHeap orders a hand-built max-heap in place, leaving the entries around it alone', () => {
    // The max-heap 9 (5 (1, 3), 7 (6, 2)) at base 2, with two ties at 5 (index 40 after index 4).
    const heapDistance = Float64Array.from([-1, -1, 9, 5, 7, 5, 3, 6, 2, -1]);
    const heapIndex = Int32Array.from([-1, -1, 90, 40, 70, 4, 30, 60, 20, -1]);
    sortHeap(heapDistance, heapIndex, 2, 7);
    expect(Array.from(heapDistance)).toEqual([-1, -1, 2, 3, 5, 5, 6, 7, 9, -1]);
    expect(Array.from(heapIndex)).toEqual([-1, -1, 20, 30, 4, 40, 60, 70, 90, -1]);
  });
});
