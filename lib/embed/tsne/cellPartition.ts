/**
 * The partition of the approximate kNN search (approximateNeighbors.ts), an inverted file:
 * k-means on a seeded sample splits the points into cells of about sqrt(n) points, and each point
 * is given its own cell and those of its nearest centroids to search, until PROBED_PER_ROOT *
 * sqrt(n) points are covered, so the search's work grows as n^1.5 instead of n^2.
 */
import { BlockKernel, copyCentred } from './blockKernel.js';
import { paddedDimension } from './knnKernel.js';
import { sortHeap } from './neighborHeap.js';
import { SeededRandom, seededSample } from './random.js';

/** Lloyd iterations of the partition's k-means: cells need to be compact, not optimal. */
const KMEANS_ITERATIONS = 6;
/** k-means trains on this many sample points per cell. */
const SAMPLE_PER_CELL = 32;
/** Most cells one point probes. */
const MAX_PROBES = 64;
/** Points each point is compared with, per square root of n (see probedPerPoint). */
const PROBED_PER_ROOT = 24;

/** Blocks of rows in the partition's kernel (ALL, the centred rows, is also the search's block 0). */
export const ALL = 0;
const SAMPLE = 1;
const CENTROIDS = 2;

/** The partition of the points into cells, and which cells each point searches. */
export interface Cells {
  /** Points by cell: position p holds point order[p]; cell c is positions cellStart[c] .. cellStart[c + 1]. */
  order: Int32Array;
  cellStart: Int32Array;
  /** The point at position p searches cells probes[probeStart[p] .. probeStart[p + 1]), its own first. */
  probes: Int32Array;
  probeStart: Int32Array;
}

/** Points each point is compared with: grows as sqrt(n), so the share of all pairs falls. */
export function probedPerPoint(n: number, capacity: number): number {
  return Math.max(capacity + 1, Math.ceil(PROBED_PER_ROOT * Math.sqrt(n)));
}

/**
 * Cells of about sqrt(n) points: k-means on a seeded sample (k-means++ seeding, then
 * KMEANS_ITERATIONS Lloyd steps), every point in its nearest centroid's cell, and cells above
 * twice the mean size halved by median splits along random directions (a dense class would
 * otherwise be one cell, and every point of it would search all of it). Each point then probes
 * its own cell and those of its nearest centroids until `probed` points are covered (at most
 * MAX_PROBES cells).
 */
export function partitionCells(features: Float32Array, n: number, d: number, mean: Float64Array, probed: number, seed: number): Cells {
  const meanCells = Math.max(1, Math.round(Math.sqrt(n)));
  const sampleSize = Math.min(n, meanCells * SAMPLE_PER_CELL);
  const random = new SeededRandom(seed);
  const sample = seededSample(n, sampleSize, random);
  // Splitting only makes cells of more than half the size limit, so at most twice as many.
  const kernel = new BlockKernel([n, sampleSize, 2 * meanCells], d, n, n, n * MAX_PROBES);
  const dp = paddedDimension(d);
  const allRows = kernel.rows(ALL, n);
  copyCentred(features, 0, n, d, mean, allRows);
  kernel.computeNorms(ALL, n);
  const sampleRows = kernel.rows(SAMPLE, sampleSize);
  for (let s = 0; s < sampleSize; s++) copyCentred(features, sample[s], 1, d, mean, sampleRows.subarray(s * dp, (s + 1) * dp));
  kernel.computeNorms(SAMPLE, sampleSize);
  const centroids = kernel.rows(CENTROIDS, 2 * meanCells);
  seedCentroids(kernel, sampleRows, sampleSize, centroids, meanCells, dp, random);
  const sampleCell = new Int32Array(sampleSize);
  for (let iteration = 0; iteration < KMEANS_ITERATIONS; iteration++) {
    nearestCentroid(kernel, SAMPLE, sampleSize, meanCells, sampleCell);
    memberMeans(sampleRows, sampleSize, dp, sampleCell, meanCells, centroids);
  }
  const cellOf = new Int32Array(n);
  nearestCentroid(kernel, ALL, n, meanCells, cellOf);
  const cellCount = splitLargeCells(allRows, n, dp, cellOf, meanCells, Math.ceil((2 * n) / meanCells), random);
  memberMeans(allRows, n, dp, cellOf, cellCount, centroids);

  const cellStart = new Int32Array(cellCount + 1);
  for (let i = 0; i < n; i++) cellStart[cellOf[i] + 1]++;
  for (let c = 0; c < cellCount; c++) cellStart[c + 1] += cellStart[c];
  const order = new Int32Array(n);
  const filled = cellStart.slice(0, cellCount);
  for (let i = 0; i < n; i++) order[filled[cellOf[i]]++] = i;

  // Each point's nearest centroids, nearest first.
  const maxProbes = Math.min(cellCount, MAX_PROBES);
  kernel.computeNorms(CENTROIDS, cellCount);
  kernel.capacity = maxProbes;
  kernel.clearHeaps(n);
  kernel.searchAll(ALL, n, CENTROIDS, 0, cellCount);
  const heapIndex = kernel.heapIndex();
  const heapDistance = kernel.heapDistance();
  const nearestCells = new Int32Array(maxProbes);
  const distance = new Float64Array(maxProbes);
  const probes = new Int32Array(n * maxProbes);
  const probeStart = new Int32Array(n + 1);
  for (let p = 0; p < n; p++) {
    const own = cellOf[order[p]];
    // Every point's heap is full: it saw all cellCount >= maxProbes centroids.
    distance.set(heapDistance.subarray(order[p] * maxProbes, (order[p] + 1) * maxProbes));
    nearestCells.set(heapIndex.subarray(order[p] * maxProbes, (order[p] + 1) * maxProbes));
    sortHeap(distance, nearestCells, 0, maxProbes);
    let count = 0;
    probes[probeStart[p] + count++] = own;
    let covered = cellStart[own + 1] - cellStart[own];
    for (let t = 0; t < maxProbes && count < maxProbes && covered < probed; t++) {
      const cell = nearestCells[t];
      if (cell === own) continue;
      probes[probeStart[p] + count++] = cell;
      covered += cellStart[cell + 1] - cellStart[cell];
    }
    probeStart[p + 1] = probeStart[p] + count;
  }
  return { order, cellStart, probes: probes.slice(0, probeStart[n]), probeStart };
}

/** cellOf[t] := the nearest of the first `cellCount` centroids to row t of `block`. */
function nearestCentroid(kernel: BlockKernel, block: number, count: number, cellCount: number, cellOf: Int32Array): void {
  kernel.computeNorms(CENTROIDS, cellCount);
  kernel.capacity = 1;
  kernel.clearHeaps(count);
  kernel.searchAll(block, count, CENTROIDS, 0, cellCount);
  cellOf.set(kernel.heapIndex().subarray(0, count));
}

/** Each cell's centroid := the mean of its rows (dp-wide); a cell without rows keeps its centroid. */
function memberMeans(rows: Float32Array, count: number, dp: number, cellOf: Int32Array, cellCount: number, centroids: Float32Array): void {
  const sums = new Float64Array(cellCount * dp);
  const members = new Int32Array(cellCount);
  for (let t = 0; t < count; t++) {
    const cell = cellOf[t];
    members[cell]++;
    for (let a = 0; a < dp; a++) sums[cell * dp + a] += rows[t * dp + a];
  }
  for (let c = 0; c < cellCount; c++) {
    if (members[c] > 0) for (let a = 0; a < dp; a++) centroids[c * dp + a] = sums[c * dp + a] / members[c];
  }
}

/**
 * Splits every cell of more than `limit` rows in two at the median of its rows' projections on
 * the difference of two of them (drawn from `random`), until none is above the limit; renumbers
 * the cells in `cellOf` (empty ones dropped) and returns their count.
 */
function splitLargeCells(
  rows: Float32Array,
  n: number,
  dp: number,
  cellOf: Int32Array,
  cellCount: number,
  limit: number,
  random: SeededRandom,
): number {
  const start = new Int32Array(cellCount + 1);
  for (let i = 0; i < n; i++) start[cellOf[i] + 1]++;
  for (let c = 0; c < cellCount; c++) start[c + 1] += start[c];
  const members = new Int32Array(n);
  const filled = start.slice(0, cellCount);
  for (let i = 0; i < n; i++) members[filled[cellOf[i]]++] = i;
  const projection = new Float64Array(n);
  const direction = new Float64Array(dp);
  let cells = 0;
  const split = (list: Int32Array): void => {
    if (list.length === 0) return;
    if (list.length <= limit) {
      for (const i of list) cellOf[i] = cells;
      cells++;
      return;
    }
    const u = list[Math.floor(random.nextFloat() * list.length)];
    const v = list[Math.floor(random.nextFloat() * list.length)];
    for (let a = 0; a < dp; a++) direction[a] = rows[u * dp + a] - rows[v * dp + a];
    for (const i of list) {
      let dot = 0;
      for (let a = 0; a < dp; a++) dot += rows[i * dp + a] * direction[a];
      projection[i] = dot;
    }
    list.sort((i, j) => projection[i] - projection[j] || i - j);
    split(list.subarray(0, list.length >> 1));
    split(list.subarray(list.length >> 1));
  };
  for (let c = 0; c < cellCount; c++) split(members.subarray(start[c], start[c + 1]));
  return cells;
}

/**
 * k-means++ seeding: the first centroid the first sample point (a random one), each next a sample
 * point drawn with probability proportional to its squared distance from the nearest centroid so
 * far, so that no dense region is left to a single cell.
 */
function seedCentroids(
  kernel: BlockKernel,
  sampleRows: Float32Array,
  sampleSize: number,
  centroids: Float32Array,
  cellCount: number,
  dp: number,
  random: SeededRandom,
): void {
  const nearest = new Float64Array(sampleSize).fill(Number.POSITIVE_INFINITY);
  kernel.capacity = 1;
  let chosen = 0;
  for (let c = 0; c < cellCount; c++) {
    centroids.set(sampleRows.subarray(chosen * dp, (chosen + 1) * dp), c * dp);
    kernel.computeNorms(CENTROIDS, c + 1);
    kernel.clearHeaps(sampleSize);
    kernel.searchAll(SAMPLE, sampleSize, CENTROIDS, c, 1);
    const distance = kernel.heapDistance();
    let total = 0;
    for (let s = 0; s < sampleSize; s++) {
      nearest[s] = Math.min(nearest[s], Math.max(0, distance[s]));
      total += nearest[s];
    }
    let target = random.nextFloat() * total;
    for (chosen = 0; chosen < sampleSize - 1 && target >= nearest[chosen]; chosen++) target -= nearest[chosen];
  }
}
