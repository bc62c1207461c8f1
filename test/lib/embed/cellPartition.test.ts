/**
 * The approximate search's inverted file (cellPartition.ts): how many points each point is
 * compared with, and the cells and probes, against hand-worked and brute-force checks.
 */
import { describe, expect, it } from 'vitest';
import { type Cells, partitionCells, probedPerPoint } from '../../../lib/embed/tsne/cellPartition.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { clustered } from '../../helpers/neighbors.js';

function columnMean(features: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a] / n;
  return mean;
}

/** The cells as sets of points, each sorted, in order of their smallest point. */
function cellSets(cells: Cells): number[][] {
  const sets: number[][] = [];
  for (let c = 0; c + 1 < cells.cellStart.length; c++)
    sets.push(Array.from(cells.order.subarray(cells.cellStart[c], cells.cellStart[c + 1])).sort((a, b) => a - b));
  return sets.sort((p, q) => p[0] - q[0]);
}

function cellAt(cells: Cells, position: number): number {
  let c = 0;
  while (cells.cellStart[c + 1] <= position) c++;
  return c;
}

/**
 * Checks `cells` for n points against the rules: a partition into non-empty cells of at most
 * `limit` points, and each point's probes its own cell, then the other cells by the distance of
 * its centred row to their members' mean (brute force, float64), until `probed` points or 64
 * cells are covered.
 */
function expectValidPartition(
  features: Float32Array,
  n: number,
  d: number,
  mean: Float64Array,
  probed: number,
  cells: Cells,
  limit: number,
): void {
  const { order, cellStart, probes, probeStart } = cells;
  const cellCount = cellStart.length - 1;
  expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  expect(cellStart[0]).toBe(0);
  expect(cellStart[cellCount]).toBe(n);
  for (let c = 0; c < cellCount; c++) {
    expect(cellStart[c + 1] - cellStart[c]).toBeGreaterThan(0);
    expect(cellStart[c + 1] - cellStart[c]).toBeLessThanOrEqual(limit);
  }
  const centroids = new Float64Array(cellCount * d);
  for (let c = 0; c < cellCount; c++) {
    const size = cellStart[c + 1] - cellStart[c];
    for (let p = cellStart[c]; p < cellStart[c + 1]; p++)
      for (let a = 0; a < d; a++) centroids[c * d + a] += (features[order[p] * d + a] - mean[a]) / size;
  }
  let largestCentroidNorm = 0;
  for (let c = 0; c < cellCount; c++) {
    let norm = 0;
    for (let a = 0; a < d; a++) norm += centroids[c * d + a] ** 2;
    largestCentroidNorm = Math.max(largestCentroidNorm, norm);
  }
  const maxProbes = Math.min(cellCount, 64);
  expect(probeStart[0]).toBe(0);
  expect(probeStart.length).toBe(n + 1);
  expect(probes.length).toBe(probeStart[n]);
  for (let p = 0; p < n; p++) {
    const list = Array.from(probes.subarray(probeStart[p], probeStart[p + 1]));
    const own = cellAt(cells, p);
    expect(list[0]).toBe(own);
    expect(new Set(list).size).toBe(list.length);
    expect(list.length).toBeLessThanOrEqual(maxProbes);
    const distance = (c: number): number => {
      let sum = 0;
      for (let a = 0; a < d; a++) sum += (features[order[p] * d + a] - mean[a] - centroids[c * d + a]) ** 2;
      return sum;
    };
    // Up to f32 rounding of the kernel's |x|^2 + |c|^2 - 2 x.c: nearest first, and none left out nearer.
    let rowNorm = 0;
    for (let a = 0; a < d; a++) rowNorm += (features[order[p] * d + a] - mean[a]) ** 2;
    const tolerance = 1e-5 * (1 + rowNorm + largestCentroidNorm);
    for (let t = 2; t < list.length; t++) expect(distance(list[t])).toBeGreaterThanOrEqual(distance(list[t - 1]) - tolerance);
    const farthestProbed = Math.max(...list.slice(1).map(distance));
    for (let c = 0; c < cellCount; c++) if (!list.includes(c)) expect(distance(c)).toBeGreaterThanOrEqual(farthestProbed - tolerance);
    // Probing stops at the first cell that brings the coverage to `probed`, or at the probe limit.
    const sizes = list.map((c) => cellStart[c + 1] - cellStart[c]);
    const covered = sizes.reduce((sum, size) => sum + size, 0);
    if (list.length < maxProbes) expect(covered).toBeGreaterThanOrEqual(probed);
    if (list.length > 1) expect(covered - sizes[sizes.length - 1]).toBeLessThan(probed);
  }
}

describe('probedPerPoint', () => {
  it('is 24 sqrt(n) rounded up, at least capacity + 1', () => {
    // 24 * sqrt(10000) = 2400; 24 * sqrt(100) = 240 < 301; 24 * sqrt(2) = 33.9 -> 34.
    expect(probedPerPoint(10_000, 99)).toBe(2400);
    expect(probedPerPoint(100, 300)).toBe(301);
    expect(probedPerPoint(2, 1)).toBe(34);
    expect(probedPerPoint(20_001, 99)).toBe(Math.ceil(24 * Math.sqrt(20_001)));
  });
});

describe('partitionCells', () => {
  it('puts two far pairs of points in two cells, probing the other only when its own covers too few', () => {
    // 1-D points 0, 0.1, 10, 10.1: sqrt(4) = 2 cells, k-means separates the pairs for any seed.
    const features = Float32Array.from([10, 0, 10.1, 0.1]);
    const mean = columnMean(features, 4, 1);
    for (const seed of [0, 1, 2, 3]) {
      const ownOnly = partitionCells(features, 4, 1, mean, 2, seed);
      expect(cellSets(ownOnly)).toEqual([
        [0, 2],
        [1, 3],
      ]);
      expect(Array.from(ownOnly.probeStart)).toEqual([0, 1, 2, 3, 4]);
      for (let p = 0; p < 4; p++) expect(ownOnly.probes[p]).toBe(cellAt(ownOnly, p));
      const both = partitionCells(features, 4, 1, mean, 3, seed);
      expect(Array.from(both.probeStart)).toEqual([0, 2, 4, 6, 8]);
      for (let p = 0; p < 4; p++)
        expect(Array.from(both.probes.subarray(2 * p, 2 * p + 2))).toEqual([cellAt(both, p), 1 - cellAt(both, p)]);
    }
  });

  it('partitions clustered points into cells of at most twice the mean size, probing the nearest cells', () => {
    const n = 2000;
    const d = 9;
    const features = clustered(n, d, 4, 3, 8);
    const mean = columnMean(features, n, d);
    const probed = probedPerPoint(n, 99);
    const cells = partitionCells(features, n, d, mean, probed, 5);
    // sqrt(2000) rounds to 45 cells on average; the limit is ceil(2 * 2000 / 45) = 89.
    expectValidPartition(features, n, d, mean, probed, cells, 89);
    expect(cells.cellStart.length - 1).toBeLessThanOrEqual(90);
  });

  it('splits a dense clump into cells under the limit', () => {
    // 1500 points within 0.001 of one another and 500 spread over 100: k-means++ seeds mostly on
    // the spread points, so the clump falls in few cells that must be split.
    const n = 2000;
    const d = 4;
    const random = new SeededRandom(9);
    const features = Float32Array.from({ length: n * d }, (_, t) => (t < 1500 * d ? 0.001 : 100) * random.nextGaussian());
    const mean = columnMean(features, n, d);
    const probed = probedPerPoint(n, 20);
    const cells = partitionCells(features, n, d, mean, probed, 2);
    expectValidPartition(features, n, d, mean, probed, cells, 89);
    const cellCount = cells.cellStart.length - 1;
    expect(cellCount).toBeGreaterThan(45);
    expect(cellCount).toBeLessThanOrEqual(90);
  });
});
