/**
 * Approximate kNN (the inverted-file search t-SNE uses above EXACT_NEIGHBORS_UP_TO points): its
 * recall against a brute-force oracle, the layout it shares with the exact search, determinism
 * for a seed whatever the thread count, and small or degenerate inputs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { approximateNeighbors, type CellSearch, searchClaimedCells } from '../../../lib/embed/tsne/approximateNeighbors.js';
import type { Cells } from '../../../lib/embed/tsne/cellPartition.js';
import { CANDIDATE_SLACK, type Neighbors } from '../../../lib/embed/tsne/neighborHeap.js';
import { exactNeighbors, nearestNeighbors } from '../../../lib/embed/tsne/neighbors.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { startTsneTeam } from '../../../lib/embed/tsne/tsneTeam.js';
import { bruteForceNeighbors, bruteForceScan, cellSearchOf, clustered } from '../../helpers/neighbors.js';

/** Every fifth point, by the oracle: the share of listed neighbours no farther than the true k-th. */
function oracleRecall(features: Float32Array, n: number, d: number, neighbors: Neighbors): number {
  const { k } = neighbors;
  let found = 0;
  let listed = 0;
  for (let i = 0; i < n; i += 5) {
    const scan = bruteForceScan(features, n, d, i);
    const kth = scan[k - 1].distance;
    const distanceTo = new Map(scan.map((entry) => [entry.j, entry.distance]));
    for (let r = 0; r < k; r++) if (distanceTo.get(neighbors.indices[i * k + r])! <= kth) found++;
    listed += k;
  }
  return found / listed;
}

const team = startTsneTeam(2);
afterAll(() => team.close());

describe('approximateNeighbors', () => {
  const n = 4000;
  const d = 48;
  const k = 91;
  // Two classes of 2000 points in 8 dimensions: each point is compared with about 40% of the
  // points, so the neighbours are found by the partition, not by a whole-class search.
  const features = clustered(n, d, 2, 8, 1);
  const approximate = approximateNeighbors(features, n, d, k, undefined, 7);

  it('finds at least 95% of the true k nearest on clustered data, each listed as exactNeighbors would', async () => {
    const neighbors = await approximate;
    expect(oracleRecall(features, n, d, neighbors)).toBeGreaterThanOrEqual(0.95);
    for (let i = 0; i < n; i += 97) {
      for (let r = 0; r < k; r++) {
        const j = neighbors.indices[i * k + r];
        expect(j).not.toBe(i);
        let distance = 0;
        for (let a = 0; a < d; a++) distance += (features[i * d + a] - features[j * d + a]) ** 2;
        expect(neighbors.sqDistances[i * k + r]).toBeCloseTo(distance, 9);
        if (r > 0) expect(neighbors.sqDistances[i * k + r]).toBeGreaterThanOrEqual(neighbors.sqDistances[i * k + r - 1]);
      }
    }
  });

  it('gives the same neighbours for a seed on one thread and on two', async () => {
    const once = await approximate;
    const again = await approximateNeighbors(features, n, d, k, undefined, 7);
    // The helper thread loads its modules during the first call and takes part in the second.
    await approximateNeighbors(features, n, d, k, team, 7);
    const twoThreads = await approximateNeighbors(features, n, d, k, team, 7);
    expect(again.indices).toEqual(once.indices);
    expect(again.sqDistances).toEqual(once.sqDistances);
    expect(twoThreads.indices).toEqual(once.indices);
    expect(twoThreads.sqDistances).toEqual(once.sqDistances);
  });
});

describe('small and degenerate inputs', () => {
  it('is exact when n is just above k (every cell is searched), rows of any width', async () => {
    const n = 94;
    const d = 7;
    const k = 91;
    const features = clustered(n, d, 3, 3, 4);
    const neighbors = await approximateNeighbors(features, n, d, k);
    for (let i = 0; i < n; i++)
      expect(Array.from(neighbors.indices.subarray(i * k, (i + 1) * k))).toEqual(bruteForceNeighbors(features, n, d, k, i));
  });

  it('pairs duplicated rows at distance 0, ties to the smaller index', async () => {
    const m = 1500;
    const d = 10;
    const k = 5;
    const base = clustered(m, d, 5, 3, 5);
    // Rows i and i + m are the same point.
    const features = new Float32Array(2 * m * d);
    features.set(base);
    features.set(base, m * d);
    const neighbors = await approximateNeighbors(features, 2 * m, d, k, undefined, 1);
    for (let i = 0; i < 2 * m; i++) {
      expect(neighbors.indices[i * k]).toBe(i < m ? i + m : i - m);
      expect(neighbors.sqDistances[i * k]).toBe(0);
    }
    expect(oracleRecall(features, 2 * m, d, neighbors)).toBeGreaterThanOrEqual(0.95);
  });

  it('lists k distinct other points at distance 0 when every row is the same', async () => {
    const n = 300;
    const d = 3;
    const k = 10;
    const neighbors = await approximateNeighbors(new Float32Array(n * d).fill(1.5), n, d, k);
    for (let i = 0; i < n; i++) {
      const listed = Array.from(neighbors.indices.subarray(i * k, (i + 1) * k));
      expect(new Set(listed).size).toBe(k);
      expect(listed).not.toContain(i);
      expect(neighbors.sqDistances.subarray(i * k, (i + 1) * k).every((distance) => distance === 0)).toBe(true);
    }
  });
});

describe('nearestNeighbors', () => {
  const n = 500;
  const d = 12;
  const k = 20;
  const features = clustered(n, d, 4, 3, 6);

  it('is exact up to exactUpTo points and approximate (as seeded) above', async () => {
    const exact = await exactNeighbors(features, n, d, k);
    const approximate = await approximateNeighbors(features, n, d, k, undefined, 3);
    expect((await nearestNeighbors(features, n, d, k, undefined, { exactUpTo: n })).indices).toEqual(exact.indices);
    const chosen = await nearestNeighbors(features, n, d, k, undefined, { exactUpTo: n - 1, seed: 3 });
    expect(chosen.indices).toEqual(approximate.indices);
    expect(chosen.sqDistances).toEqual(approximate.sqDistances);
  });
});

describe('searchClaimedCells', () => {
  // 16 points in 4 cells of 4 positions; row p of the search is point order[p] (5p mod 16).
  const n = 16;
  const d = 5;
  const k = 3;
  // Room for k + CANDIDATE_SLACK = 11 candidates: a point whose probes hold 11 other points or
  // more keeps the nearest of them; one whose probes hold fewer is compared with every point.
  const capacity = k + CANDIDATE_SLACK;
  const random = new SeededRandom(12);
  const features = Float32Array.from({ length: n * d }, () => random.nextGaussian());
  const order = Int32Array.from({ length: n }, (_, p) => (5 * p) % n);
  const probeLists = [
    // Cell 0: its own 3 others only (every point instead).
    ...Array.from({ length: 4 }, () => [0]),
    // Cell 1: 11 others in cells 1, 0, 2.
    ...Array.from({ length: 4 }, () => [1, 0, 2]),
    // Cell 2: 7 others (every point instead).
    ...Array.from({ length: 4 }, () => [2, 3]),
    // Cell 3: each point its own probes (all 15 others, two sets of 11, and too few).
    [3, 0, 1, 2],
    [3, 2, 1],
    [3, 1, 0],
    [3],
  ];

  function cellSearch(): CellSearch {
    const probeStart = new Int32Array(n + 1);
    for (let p = 0; p < n; p++) probeStart[p + 1] = probeStart[p] + probeLists[p].length;
    const cells: Cells = { order, cellStart: Int32Array.from([0, 4, 8, 12, 16]), probes: Int32Array.from(probeLists.flat()), probeStart };
    // One thread, as approximateNeighbors calls it without helpers.
    return cellSearchOf(features, n, d, k, cells);
  }

  /** Brute force: the k nearest of the points in position p's probed cells, or of all when fewer than `capacity`. */
  function expectedNeighbors(p: number): { j: number; distance: number }[] {
    const inProbes = (q: number): boolean => probeLists[p].includes(Math.floor(q / 4));
    let allowed = Array.from({ length: n }, (_, q) => q).filter((q) => q !== p && inProbes(q));
    if (allowed.length < capacity) allowed = Array.from({ length: n }, (_, q) => q).filter((q) => q !== p);
    return allowed
      .map((q) => {
        let distance = 0;
        for (let a = 0; a < d; a++) distance += (features[order[p] * d + a] - features[order[q] * d + a]) ** 2;
        return { j: order[q], distance };
      })
      .sort((x, y) => x.distance - y.distance || x.j - y.j)
      .slice(0, k);
  }

  it('lists for each point the k nearest of its probed cells by point, nearest first (all points where they hold too few)', () => {
    // The probe lists below are laid out for 11 candidates.
    expect(capacity).toBe(11);
    const search = cellSearch();
    searchClaimedCells(search);
    // Every cell was claimed and finished.
    expect(Array.from(search.counter)).toEqual([5, 4]);
    let restricted = 0;
    for (let p = 0; p < n; p++) {
      const point = order[p];
      const expected = expectedNeighbors(p);
      expect(Array.from(search.indices.subarray(point * k, (point + 1) * k))).toEqual(expected.map((entry) => entry.j));
      for (let r = 0; r < k; r++) expect(search.sqDistances[point * k + r]).toBeCloseTo(expected[r].distance, 12);
      if (expected.map((entry) => entry.j).join() !== bruteForceNeighbors(features, n, d, k, point).join()) restricted++;
    }
    // The probes do restrict some points' neighbours (else the test could not tell them from a full scan).
    expect(restricted).toBeGreaterThan(0);
  });

  it('leaves the result alone when every cell is already claimed', () => {
    const search = cellSearch();
    search.counter[0] = 4;
    search.indices.fill(-1);
    searchClaimedCells(search);
    expect(search.indices.every((index) => index === -1)).toBe(true);
    expect(search.sqDistances.every((distance) => distance === 0)).toBe(true);
  });
});
