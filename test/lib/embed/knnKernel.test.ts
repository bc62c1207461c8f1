/**
 * The exact search's candidate kernel (knnKernel.ts): its tile-pair and padding arithmetic, and
 * the candidates it proposes, against a brute-force scan of the pairs a thread claims.
 */
import { describe, expect, it } from 'vitest';
import { KNN_TILE, paddedDimension, searchClaimedCandidates, tilePairCount } from '../../../lib/embed/tsne/knnKernel.js';
import { bruteForceScan, clustered } from '../../helpers/neighbors.js';

describe('tilePairCount', () => {
  it('counts the tile pairs (a, b), b >= a, of ceil(n / 64) tiles', () => {
    expect(KNN_TILE).toBe(64);
    // 1 tile: (0, 0). 2 tiles: (0, 0), (0, 1), (1, 1). 5 tiles: 5 + 4 + 3 + 2 + 1 = 15.
    expect(tilePairCount(1)).toBe(1);
    expect(tilePairCount(64)).toBe(1);
    expect(tilePairCount(65)).toBe(3);
    expect(tilePairCount(128)).toBe(3);
    expect(tilePairCount(300)).toBe(15);
  });

  it('equals a count of the pairs (a, b), b >= a, of the tiles the rows fall in', () => {
    for (const n of [1, 2, 63, 64, 65, 191, 192, 193, 700]) {
      const tiles = new Set<number>();
      for (let i = 0; i < n; i++) tiles.add(Math.floor(i / 64));
      let pairs = 0;
      for (const a of tiles) for (const b of tiles) if (b >= a) pairs++;
      expect(tilePairCount(n)).toBe(pairs);
    }
  });
});

describe('paddedDimension', () => {
  it('rounds the row length up to a multiple of four lanes', () => {
    expect([1, 3, 4, 5, 7, 8, 9, 767, 768].map(paddedDimension)).toEqual([4, 4, 4, 8, 8, 8, 12, 768, 768]);
  });
});

/** Point i's candidates as sorted (index, approximate distance) lists. */
function candidatesOf(result: ReturnType<typeof searchClaimedCandidates>, i: number): { index: number; distance: number }[] {
  const { capacity, index, distance, size } = result.candidates;
  return Array.from({ length: size[i] }, (_, t) => ({ index: index[i * capacity + t], distance: distance[i * capacity + t] })).sort(
    (p, q) => p.index - q.index,
  );
}

describe('searchClaimedCandidates', () => {
  // Rows of a width that is not a multiple of four, and a last tile that is not full.
  const n = 300;
  const d = 7;
  const features = clustered(n, d, 3, 3, 2);
  const scans = Array.from({ length: n }, (_, i) => bruteForceScan(features, n, d, i));

  it('on one thread searches every tile pair: each point keeps its capacity nearest, farthest first', () => {
    const capacity = 20;
    const next = new Int32Array(new SharedArrayBuffer(4));
    const result = searchClaimedCandidates(features, n, d, capacity, next);
    expect(result.pairsSearched).toBe(15);
    expect(result.candidates.capacity).toBe(capacity);
    for (let i = 0; i < n; i++) {
      expect(result.candidates.size[i]).toBe(capacity);
      const kept = candidatesOf(result, i);
      const exact = new Map(scans[i].map((entry) => [entry.j, entry.distance]));
      // The f32 distance is within rounding of the exact one (norms here are at most ~100).
      for (const { index, distance } of kept) {
        expect(index).not.toBe(i);
        expect(Math.abs(distance - exact.get(index)!)).toBeLessThan(1e-3);
      }
      // The kept ones are the capacity nearest, up to f32 rounding at the boundary.
      const farthestKept = Math.max(...kept.map(({ index }) => exact.get(index)!));
      expect(farthestKept).toBeLessThanOrEqual(scans[i][capacity].distance + 1e-3);
      expect(new Set(kept.map(({ index }) => index)).size).toBe(capacity);
      const heapTop = result.candidates.distance[i * capacity];
      expect(heapTop).toBe(Math.max(...kept.map(({ distance }) => distance)));
    }
  });

  it('searches only the tile pairs left when it claims: every pair of those, and no other', () => {
    // Another thread has claimed pairs 0 .. 7 of (0,0) (0,1) (0,2) (0,3) (0,4) (1,1) (1,2) (1,3) | (1,4)
    // (2,2) (2,3) (2,4) (3,3) (3,4) (4,4): this one searches the last 7. With room for every
    // other point, each keeps every pair of its claimed tile pairs.
    const next = new Int32Array(new SharedArrayBuffer(4));
    next[0] = 8;
    const result = searchClaimedCandidates(features, n, d, n - 1, next);
    expect(result.pairsSearched).toBe(7);
    const claimed = new Set(['1,4', '2,2', '2,3', '2,4', '3,3', '3,4', '4,4']);
    for (let i = 0; i < n; i++) {
      const expected: number[] = [];
      for (let j = 0; j < n; j++) {
        const [a, b] = [Math.floor(Math.min(i, j) / 64), Math.floor(Math.max(i, j) / 64)];
        if (j !== i && claimed.has(`${a},${b}`)) expected.push(j);
      }
      expect(candidatesOf(result, i).map(({ index }) => index)).toEqual(expected);
    }
    // By tile: tile 0 is in no claimed pair; tile 1 only with tile 4 (44 rows); tile 2 with 2, 3, 4.
    expect(result.candidates.size[0]).toBe(0);
    expect(result.candidates.size[64]).toBe(44);
    expect(result.candidates.size[128]).toBe(63 + 64 + 44);
  });

  it('returns no candidates when every tile pair is already claimed', () => {
    const next = new Int32Array(new SharedArrayBuffer(4));
    next[0] = 15;
    const result = searchClaimedCandidates(features, n, d, 20, next);
    expect(result.pairsSearched).toBe(0);
    expect(Array.from(result.candidates.size)).toEqual(new Array(n).fill(0));
  });
});
