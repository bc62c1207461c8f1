/**
 * Approximate k nearest neighbours for inputs too large for the exact search (neighbors.ts), over
 * the cells of cellPartition.ts: a cell's points are searched together, grouped by probed cell,
 * so every distance is evaluated in dense blocks by a WebAssembly SIMD kernel (blockKernel.ts):
 * a graph search (NN-descent) would gather scattered 3 KB rows per distance at 768-D, and memory
 * traffic, not arithmetic, would set its speed. Each point keeps its nearest candidates by the
 * kernel's f32 distance; those are recomputed in float64 from the rows and the k nearest kept,
 * ties to the smaller index. Cells are claimed by the threads of a team and each cell's result
 * depends on the data and the seed only, so the result is the same whatever the thread count.
 * (bench/neighborRecall.ts measures the recall.)
 */
import { BlockKernel, copyCentred } from './blockKernel.js';
import { ALL, type Cells, partitionCells, probedPerPoint } from './cellPartition.js';
import { CANDIDATE_SLACK, type Neighbors, offer, sortHeap, squaredDistance } from './neighborHeap.js';
import { awaitClaims, type ThreadTeam, workOnClaims } from './team.js';

/** A helper's share of the search: the cells it claims (see searchClaimedCells). */
export interface CellsRequest {
  kind: 'cells';
  search: CellSearch;
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
  team?: ThreadTeam<CellsRequest>,
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
  team?.callEach({ kind: 'cells', search });
  searchClaimedCells(search);
  awaitClaims(search.counter, cells.cellStart.length - 1, team);
  return { k, indices: search.indices, sqDistances: search.sqDistances };
}

function sharedIf(shared: boolean, bytes: number): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}
