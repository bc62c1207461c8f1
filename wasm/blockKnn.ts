// AssemblyScript source of the block nearest-neighbour search behind t-SNE's approximate kNN
// (lib/embed/tsne/approximateNeighbors.ts drives it); built to dist/wasm/blockKnn.wasm by `npm run build:wasm`.
//
// Memory, laid out by the caller (byte offsets): blocks of rows of dp f32 (dp a multiple of 4,
// zero padded) with one readable row after the last, their squared norms (f32, one per row),
// lists of query row numbers (i32), and for each query a bounded max-heap of `capacity`
// candidates (f32 approximate squared distance, i32 reference number) with its size. Distances
// are approximate (f32 sums of |q|^2 + |r|^2 - 2 q.r); the caller recomputes the chosen ones.

/** References per tile: 64 rows of 768-D f32 stay in L2 cache while every query passes them. */
const TILE: i32 = 64;

// The rows' squared norms, in the same lane order as the dot products.
export { norms } from './knn';

import { dotTile, offer, TILE_COLUMNS, TILE_ROWS, tileDot } from './heap';

/**
 * Offers every reference row r of [references, + referenceCount rows) to the heap of every query:
 * the rows numbered queryList[0 .. queryCount) of the block at `queries`, query row t to heap
 * t - heapBase, as reference number firstReference + r; never a row to itself (the same address).
 * Each pair's distance is summed the same way wherever it sits.
 */
export function search(
  queries: usize,
  queryNorms: usize,
  queryList: usize,
  queryCount: i32,
  heapBase: i32,
  references: usize,
  referenceNorms: usize,
  referenceCount: i32,
  firstReference: i32,
  dp: i32,
  heapDistance: usize,
  heapIndex: usize,
  heapSize: usize,
  capacity: i32,
): void {
  const rowBytes = <usize>dp * 4;
  for (let tile = 0; tile < referenceCount; tile += TILE) {
    const tileEnd = min(tile + TILE, referenceCount);
    for (let q = 0; q < queryCount; q += TILE_ROWS) {
      // A group short of four rows repeats its last row, whose pairs are then not offered.
      const t0 = load<i32>(queryList + <usize>q * 4);
      const t1 = load<i32>(queryList + <usize>min(q + 1, queryCount - 1) * 4);
      const t2 = load<i32>(queryList + <usize>min(q + 2, queryCount - 1) * 4);
      const t3 = load<i32>(queryList + <usize>min(q + 3, queryCount - 1) * 4);
      const q0 = queries + <usize>t0 * rowBytes;
      const q1 = queries + <usize>t1 * rowBytes;
      const q2 = queries + <usize>t2 * rowBytes;
      const q3 = queries + <usize>t3 * rowBytes;
      const n0 = load<f32>(queryNorms + <usize>t0 * 4);
      const n1 = load<f32>(queryNorms + <usize>t1 * 4);
      const n2 = load<f32>(queryNorms + <usize>t2 * 4);
      const n3 = load<f32>(queryNorms + <usize>t3 * 4);
      const h0 = t0 - heapBase;
      const h1 = q + 1 < queryCount ? t1 - heapBase : -1;
      const h2 = q + 2 < queryCount ? t2 - heapBase : -1;
      const h3 = q + 3 < queryCount ? t3 - heapBase : -1;
      for (let r = tile; r < tileEnd; r += TILE_COLUMNS) {
        const r0 = references + <usize>r * rowBytes;
        const r1 = r0 + rowBytes;
        dotTile(q0, q1, q2, q3, r0, r1, rowBytes);
        const m0 = load<f32>(referenceNorms + <usize>r * 4);
        const m1 = load<f32>(referenceNorms + <usize>(r + 1) * 4);
        const real1 = r + 1 < tileEnd;
        const j = firstReference + r;
        consider(heapDistance, heapIndex, heapSize, capacity, h0, q0 === r0, n0 + m0 - 2 * tileDot(0, 0), j);
        consider(heapDistance, heapIndex, heapSize, capacity, h1, q1 === r0, n1 + m0 - 2 * tileDot(1, 0), j);
        consider(heapDistance, heapIndex, heapSize, capacity, h2, q2 === r0, n2 + m0 - 2 * tileDot(2, 0), j);
        consider(heapDistance, heapIndex, heapSize, capacity, h3, q3 === r0, n3 + m0 - 2 * tileDot(3, 0), j);
        if (!real1) continue;
        consider(heapDistance, heapIndex, heapSize, capacity, h0, q0 === r1, n0 + m1 - 2 * tileDot(0, 1), j + 1);
        consider(heapDistance, heapIndex, heapSize, capacity, h1, q1 === r1, n1 + m1 - 2 * tileDot(1, 1), j + 1);
        consider(heapDistance, heapIndex, heapSize, capacity, h2, q2 === r1, n2 + m1 - 2 * tileDot(2, 1), j + 1);
        consider(heapDistance, heapIndex, heapSize, capacity, h3, q3 === r1, n3 + m1 - 2 * tileDot(3, 1), j + 1);
      }
    }
  }
}

/** Offers reference j to heap `heap` unless there is no such query (-1) or it is the query itself. */
function consider(
  heapDistance: usize,
  heapIndex: usize,
  heapSize: usize,
  capacity: i32,
  heap: i32,
  itself: bool,
  distance: f32,
  j: i32,
): void {
  if (heap < 0 || itself) return;
  offer(heapDistance, heapIndex, heapSize, capacity, heap, distance, j);
}
