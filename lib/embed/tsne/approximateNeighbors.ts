/**
 * Approximate k nearest neighbours for inputs too large for the exact search (neighbors.ts), by
 * an inverted-file partition: k-means on a seeded sample splits the points into cells of about
 * sqrt(n) points, and each point searches its own cell and those of its nearest centroids until
 * PROBED_PER_ROOT * sqrt(n) points are covered, so the work grows as n^1.5 instead of n^2. A
 * cell's points are searched together, grouped by probed cell, so every distance is evaluated in
 * dense blocks by a WebAssembly SIMD kernel (wasm/blockKnn.ts): a graph search (NN-descent) would
 * gather scattered 3 KB rows per distance at 768-D, and memory traffic, not arithmetic, would set
 * its speed. Each point keeps its nearest candidates by the kernel's f32 distance; those are
 * recomputed in float64 from the rows and the k nearest kept, ties to the smaller index. Cells
 * are claimed by the threads of a team and each cell's result depends on the data and the seed
 * only, so the result is the same whatever the thread count. neighborRecall measures the recall.
 */
import { WASM_DATA_START, wasmInstance } from '../../wasmModules.js';
import { type Neighbors, offer, sortHeap, squaredDistance } from './neighbors.js';
import { SeededRandom } from './random.js';
import { awaitClaims, type ThreadTeam, workOnClaims } from './team.js';

/** f32 candidates kept per point beyond k: the f32 ranking may swap near-equal distances. */
const CANDIDATE_SLACK = 8;
/** Lloyd iterations of the partition's k-means: cells need to be compact, not optimal. */
const KMEANS_ITERATIONS = 6;
/** k-means trains on this many sample points per cell. */
const SAMPLE_PER_CELL = 32;
/** Most cells one point probes. */
const MAX_PROBES = 64;
/** Points each point is compared with, per square root of n (see probedPerPoint). */
const PROBED_PER_ROOT = 24;

/** The kernel reads one row past the last reference row: a zero row after each block. */
const PADDING_ROWS = 1;

interface KernelExports {
  memory: WebAssembly.Memory;
  norms(rows: number, count: number, dp: number, out: number): void;
  search(
    queries: number,
    queryNorms: number,
    queryList: number,
    queryCount: number,
    heapBase: number,
    references: number,
    referenceNorms: number,
    referenceCount: number,
    firstReference: number,
    dp: number,
    heapDistance: number,
    heapIndex: number,
    heapSize: number,
    capacity: number,
  ): void;
}

/** Blocks of rows in the partition's kernel. */
const ALL = 0;
const SAMPLE = 1;
const CENTROIDS = 2;

/** Padded row length: a multiple of the four f32 lanes. */
function paddedDimension(d: number): number {
  return Math.ceil(d / 4) * 4;
}

/**
 * A kernel instance holding blocks of rows (each followed by PADDING_ROWS zero rows) with their
 * norms, a list of query row numbers, and heaps of `capacity` candidates (set before searching).
 */
class BlockKernel {
  capacity = 1;
  private readonly kernel: KernelExports;
  private readonly dp: number;
  private readonly rowsAt: number[] = [];
  private readonly normsAt: number[] = [];
  private readonly listAt: number;
  private readonly distanceAt: number;
  private readonly indexAt: number;
  private readonly sizeAt: number;

  /**
   * `blockRows[b]` rows in block b; room for `listLength` query row numbers, and for `heaps` heaps
   * of `heapEntries` entries in all.
   */
  constructor(
    blockRows: number[],
    d: number,
    listLength: number,
    private readonly heaps: number,
    private readonly heapEntries: number,
  ) {
    this.dp = paddedDimension(d);
    let at = WASM_DATA_START;
    for (const rows of blockRows) {
      this.rowsAt.push(at);
      at += (rows + PADDING_ROWS) * this.dp * 4;
      this.normsAt.push(at);
      at += (rows + PADDING_ROWS) * 4;
    }
    this.listAt = at;
    this.distanceAt = this.listAt + listLength * 4;
    this.indexAt = this.distanceAt + heapEntries * 4;
    this.sizeAt = this.indexAt + heapEntries * 4;
    const end = this.sizeAt + heaps * 4;
    this.kernel = wasmInstance<KernelExports>('blockKnn', end);
  }

  /** Block b's rows (padded, zero beyond the data), to fill in before `computeNorms(b)`. */
  rows(block: number, count: number): Float32Array {
    return new Float32Array(this.kernel.memory.buffer, this.rowsAt[block], count * this.dp);
  }

  computeNorms(block: number, count: number): void {
    this.kernel.norms(this.rowsAt[block], count, this.dp, this.normsAt[block]);
  }

  /** The query list: row numbers within the query block. */
  queryList(length: number): Int32Array {
    return new Int32Array(this.kernel.memory.buffer, this.listAt, length);
  }

  /** Empties heaps [0, count). */
  clearHeaps(count: number): void {
    if (count > this.heaps || count * this.capacity > this.heapEntries)
      throw new RangeError(`no room for ${count} heaps of ${this.capacity}`);
    new Int32Array(this.kernel.memory.buffer, this.sizeAt, count).fill(0);
  }

  /**
   * Offers rows [firstReference, + referenceCount) of block `referenceBlock`, as their row
   * numbers, to the heaps of the `queryCount` rows of block `queryBlock` listed from queryList
   * entry `listStart` on (row t to heap t - heapBase); a row is never offered to itself.
   */
  search(
    queryBlock: number,
    listStart: number,
    queryCount: number,
    heapBase: number,
    referenceBlock: number,
    firstReference: number,
    referenceCount: number,
  ): void {
    const rowBytes = this.dp * 4;
    this.kernel.search(
      this.rowsAt[queryBlock],
      this.normsAt[queryBlock],
      this.listAt + listStart * 4,
      queryCount,
      heapBase,
      this.rowsAt[referenceBlock] + firstReference * rowBytes,
      this.normsAt[referenceBlock] + firstReference * 4,
      referenceCount,
      firstReference,
      this.dp,
      this.distanceAt,
      this.indexAt,
      this.sizeAt,
      this.capacity,
    );
  }

  /** search() with the queries rows [0, queryCount) of `queryBlock`, row t to heap t. */
  searchAll(queryBlock: number, queryCount: number, referenceBlock: number, firstReference: number, referenceCount: number): void {
    const list = this.queryList(queryCount);
    for (let t = 0; t < queryCount; t++) list[t] = t;
    this.search(queryBlock, 0, queryCount, 0, referenceBlock, firstReference, referenceCount);
  }

  /** The heaps' row numbers: heap q's are entries [q * capacity, + its size), in heap order. */
  heapIndex(): Int32Array {
    return new Int32Array(this.kernel.memory.buffer, this.indexAt, this.heapEntries);
  }

  /** The heaps' f32 distances, laid out as heapIndex(). */
  heapDistance(): Float32Array {
    return new Float32Array(this.kernel.memory.buffer, this.distanceAt, this.heapEntries);
  }

  heapSize(): Int32Array {
    return new Int32Array(this.kernel.memory.buffer, this.sizeAt, this.heaps);
  }
}

/** Copies rows of `features` into `padded` (dp-wide rows), minus `mean`, in f32. */
function copyCentred(features: Float32Array, firstRow: number, count: number, d: number, mean: Float64Array, padded: Float32Array): void {
  const dp = padded.length / count;
  for (let r = 0; r < count; r++) {
    const from = (firstRow + r) * d;
    for (let a = 0; a < d; a++) padded[r * dp + a] = features[from + a] - mean[a];
  }
}

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
function probedPerPoint(n: number, capacity: number): number {
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
function partitionCells(features: Float32Array, n: number, d: number, mean: Float64Array, probed: number, seed: number): Cells {
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

/** `count` distinct points of [0, n), in a random order (a partial Fisher-Yates shuffle). */
function seededSample(n: number, count: number, random: SeededRandom): Int32Array {
  const points = Int32Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < count; s++) {
    const pick = s + Math.floor(random.nextFloat() * (n - s));
    const point = points[pick];
    points[pick] = points[s];
    points[s] = point;
  }
  return points.subarray(0, count);
}

/** What a thread needs to search cells; with helpers, the rows and the result are in SharedArrayBuffers. */
export interface CellSearch {
  /** The rows in cell order (n x d): row p is point cells.order[p]. */
  rows: Float32Array;
  n: number;
  d: number;
  k: number;
  mean: Float64Array;
  cells: Cells;
  /** The result, by point: written cell by cell by whichever thread claimed the cell. */
  indices: Int32Array;
  sqDistances: Float64Array;
  /** workOnClaims counter of the cells. */
  counter: Int32Array;
}

/**
 * Searches the cells this thread claims until none are left: each cell's points against the rows
 * of its probes by the kernel's f32 distance, keeping k + CANDIDATE_SLACK candidates; then the k
 * nearest of those by the float64 distance, nearest first, ties to the smaller point.
 */
export function searchClaimedCells(search: CellSearch): void {
  const { rows, n, d, k, mean, cells, indices, sqDistances, counter } = search;
  const { cellStart, probes, probeStart, order } = cells;
  const cellCount = cellStart.length - 1;
  if (Atomics.load(counter, 0) >= cellCount) return;
  const capacity = Math.min(n - 1, k + CANDIDATE_SLACK);
  let largestCell = 0;
  let longestList = 0;
  for (let c = 0; c < cellCount; c++) {
    largestCell = Math.max(largestCell, cellStart[c + 1] - cellStart[c]);
    longestList = Math.max(longestList, probeStart[cellStart[c + 1]] - probeStart[cellStart[c]]);
  }
  const kernel = new BlockKernel([n], d, longestList, largestCell, largestCell * capacity);
  kernel.capacity = capacity;
  copyCentred(rows, 0, n, d, mean, kernel.rows(ALL, n));
  kernel.computeNorms(ALL, n);
  const list = kernel.queryList(longestList);
  const candidates = kernel.heapIndex();
  const candidateCount = kernel.heapSize();
  // The cell's queries grouped by probed cell: each group's rows against that cell's in one call.
  const probedCells = new Int32Array(cellCount);
  const groupSize = new Int32Array(cellCount);
  const groupEnd = new Int32Array(cellCount);
  // `offer` keeps one heap per point: at the output's row of the point.
  const heapSize = new Int32Array(n);
  workOnClaims(counter, cellCount, (cell) => {
    const first = cellStart[cell];
    const end = cellStart[cell + 1];
    let probedCount = 0;
    for (let t = probeStart[first]; t < probeStart[end]; t++) {
      if (groupSize[probes[t]]++ === 0) probedCells[probedCount++] = probes[t];
    }
    let listed = 0;
    for (let g = 0; g < probedCount; g++) {
      listed += groupSize[probedCells[g]];
      groupEnd[probedCells[g]] = listed;
    }
    for (let p = end - 1; p >= first; p--) for (let t = probeStart[p]; t < probeStart[p + 1]; t++) list[--groupEnd[probes[t]]] = p;
    kernel.clearHeaps(end - first);
    for (let g = 0; g < probedCount; g++) {
      const probe = probedCells[g];
      kernel.search(ALL, groupEnd[probe], groupSize[probe], first, ALL, cellStart[probe], cellStart[probe + 1] - cellStart[probe]);
      groupSize[probe] = 0;
    }
    for (let p = first; p < end; p++) {
      const point = order[p];
      const heap = p - first;
      // Probes that cover too few points (only when cells are very uneven): every point instead.
      if (candidateCount[heap] < capacity) {
        for (let row = 0; row < n; row++) {
          if (row !== p) offer(sqDistances, indices, heapSize, k, point, squaredDistance(rows, p * d, row * d, d), order[row]);
        }
      } else {
        for (let t = heap * capacity; t < (heap + 1) * capacity; t++) {
          const row = candidates[t];
          offer(sqDistances, indices, heapSize, k, point, squaredDistance(rows, p * d, row * d, d), order[row]);
        }
      }
      sortHeap(sqDistances, indices, point * k, k);
    }
  });
}

/**
 * Approximate k nearest neighbours of each of the n rows of `features` (n x d, row-major), in
 * the layout of exactNeighbors: nearest first, float64 squared distances from the rows, ties to
 * the smaller index. The same for a given `seed` whatever `team`'s size. Needs n > k.
 */
export async function approximateNeighbors(
  features: Float32Array,
  n: number,
  d: number,
  k: number,
  team?: ThreadTeam,
  seed = 0,
): Promise<Neighbors> {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a];
  for (let a = 0; a < d; a++) mean[a] /= n;
  const cells = partitionCells(features, n, d, mean, probedPerPoint(n, Math.min(n - 1, k + CANDIDATE_SLACK)), seed);
  const helpers = (team?.size ?? 1) - 1;
  const rows = new Float32Array(sharedIf(helpers > 0, n * d * 4));
  for (let p = 0; p < n; p++) rows.set(features.subarray(cells.order[p] * d, (cells.order[p] + 1) * d), p * d);
  const search: CellSearch = {
    rows,
    n,
    d,
    k,
    mean,
    cells,
    indices: new Int32Array(sharedIf(helpers > 0, n * k * 4)),
    sqDistances: new Float64Array(sharedIf(helpers > 0, n * k * 8)),
    counter: new Int32Array(new SharedArrayBuffer(8)),
  };
  // Helpers that start after the last cell was claimed just return.
  void team?.callEach({ kind: 'cells', search });
  searchClaimedCells(search);
  awaitClaims(search.counter, cells.cellStart.length - 1);
  return { k, indices: search.indices, sqDistances: search.sqDistances };
}

function sharedIf(shared: boolean, bytes: number): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * Recall of `neighbors` at k on `sampleSize` seeded sample points: the share of their listed
 * neighbours no farther than their true k-th nearest (by a float64 scan of every point), so that
 * ties at the k-th distance count as found (as ann-benchmarks counts).
 */
export function neighborRecall(features: Float32Array, n: number, d: number, neighbors: Neighbors, sampleSize: number, seed = 0): number {
  const { k } = neighbors;
  const sample = seededSample(n, Math.min(n, sampleSize), new SeededRandom(seed));
  const distances = new Float64Array(n - 1);
  let found = 0;
  for (const i of sample) {
    let t = 0;
    for (let j = 0; j < n; j++) if (j !== i) distances[t++] = squaredDistance(features, i * d, j * d, d);
    const kth = distances.sort()[k - 1];
    for (let r = 0; r < k; r++) if (squaredDistance(features, i * d, neighbors.indices[i * k + r] * d, d) <= kth) found++;
  }
  return found / (sample.length * k);
}
