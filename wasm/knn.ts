// AssemblyScript source of the kNN candidate search (lib/embed/tsne/knnKernel.ts drives it); built to
// dist/wasm/knn.wasm by `npm run build:wasm` (infra/setup.sh runs it).
//
// Memory, laid out by the caller (byte offsets): features n x dp f32 (dp a multiple of 4, zero
// padded; rows padded to a multiple of 4 with zeros), norms f32 per row, and for each point a
// bounded max-heap of `capacity` candidates (f32 approximate squared distance, i32 index) with
// its size. Distances here are approximate (f32 sums); the caller bounds their error and
// recomputes the chosen ones exactly.

import { dotTile, laneSum, offer, TILE_COLUMNS, TILE_ROWS, tileDot } from './heap';

/** Squared norms of the padded rows, in the same lane order as the dot products. */
export function norms(features: usize, rows: i32, dp: i32, out: usize): void {
  for (let i = 0; i < rows; i++) {
    let acc = f32x4.splat(0);
    const row = features + <usize>(i * dp) * 4;
    for (let t = 0; t < dp; t += 4) {
      const v = v128.load(row + <usize>t * 4);
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    store<f32>(out + <usize>i * 4, laneSum(acc));
  }
}

/**
 * Offers every pair (i < j) of the tile pairs [firstPair, endPair) to both points' heaps. Tile
 * pairs (a, b), b >= a, of `tile` rows each, are numbered row by row: (0,0), (0,1), ..., (1,1), ...
 */
export function search(
  features: usize,
  normsPtr: usize,
  heapDistance: usize,
  heapIndex: usize,
  heapSize: usize,
  n: i32,
  dp: i32,
  capacity: i32,
  tile: i32,
  firstPair: i32,
  endPair: i32,
): void {
  const tiles = (n + tile - 1) / tile;
  let pair = 0;
  const rowBytes = <usize>dp * 4;
  for (let a = 0; a < tiles; a++) {
    if (pair + (tiles - a) <= firstPair) {
      pair += tiles - a;
      continue;
    }
    for (let b = a; b < tiles; b++, pair++) {
      if (pair < firstPair) continue;
      if (pair >= endPair) return;
      const rowEnd = min(a * tile + tile, n);
      const columnEnd = min(b * tile + tile, n);
      for (let i = a * tile; i < rowEnd; i += TILE_ROWS) {
        const r0 = features + <usize>i * rowBytes;
        const r1 = r0 + rowBytes;
        const r2 = r1 + rowBytes;
        const r3 = r2 + rowBytes;
        for (let j = b === a ? i : b * tile; j < columnEnd; j += TILE_COLUMNS) {
          const c0 = features + <usize>j * rowBytes;
          const c1 = c0 + rowBytes;
          dotTile(r0, r1, r2, r3, c0, c1, rowBytes);
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i, j, tileDot(0, 0));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i, j + 1, tileDot(0, 1));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i + 1, j, tileDot(1, 0));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i + 1, j + 1, tileDot(1, 1));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i + 2, j, tileDot(2, 0));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i + 2, j + 1, tileDot(2, 1));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i + 3, j, tileDot(3, 0));
          consider(normsPtr, heapDistance, heapIndex, heapSize, n, capacity, i + 3, j + 1, tileDot(3, 1));
        }
      }
    }
  }
}

/** Offers the pair (row, column) to both heaps when it is a real pair above the diagonal. */
function consider(
  normsPtr: usize,
  heapDistance: usize,
  heapIndex: usize,
  heapSize: usize,
  n: i32,
  capacity: i32,
  row: i32,
  column: i32,
  dot: f32,
): void {
  if (column <= row || column >= n) return;
  const distance = load<f32>(normsPtr + <usize>row * 4) + load<f32>(normsPtr + <usize>column * 4) - 2 * dot;
  offer(heapDistance, heapIndex, heapSize, capacity, row, distance, column);
  offer(heapDistance, heapIndex, heapSize, capacity, column, distance, row);
}

/**
 * The exact squared distances, in f64, from row i to each of the `count` rows listed at
 * `candidates` (i32), of the n x d f32 rows at `features` (unpadded), to out (f64). Summed as
 * lib/embed/tsne/neighbors.ts's squaredDistance does, to the bit: four running sums over the axes
 * modulo 4, the leftover axes into the first, then s0 + s1 + (s2 + s3).
 */
export function exactDistances(features: usize, d: i32, i: i32, candidates: usize, count: i32, out: usize): void {
  const rowI = features + <usize>(i * d) * 4;
  for (let c = 0; c < count; c++) {
    const rowJ = features + <usize>(load<i32>(candidates + <usize>c * 4) * d) * 4;
    let sums01 = f64x2.splat(0);
    let sums23 = f64x2.splat(0);
    let axis = 0;
    for (; axis + 3 < d; axis += 4) {
      const a = v128.load(rowI + <usize>axis * 4);
      const b = v128.load(rowJ + <usize>axis * 4);
      const delta01 = f64x2.sub(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b));
      const delta23 = f64x2.sub(
        f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3)),
        f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 2, 3)),
      );
      sums01 = f64x2.add(sums01, f64x2.mul(delta01, delta01));
      sums23 = f64x2.add(sums23, f64x2.mul(delta23, delta23));
    }
    let s0 = f64x2.extract_lane(sums01, 0);
    for (; axis < d; axis++) {
      const delta = <f64>load<f32>(rowI + <usize>axis * 4) - <f64>load<f32>(rowJ + <usize>axis * 4);
      s0 += delta * delta;
    }
    store<f64>(out + <usize>c * 8, s0 + f64x2.extract_lane(sums01, 1) + (f64x2.extract_lane(sums23, 0) + f64x2.extract_lane(sums23, 1)));
  }
}
