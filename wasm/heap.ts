// Helpers shared by the kNN kernels (wasm/knn.ts, wasm/blockKnn.ts): bounded max-heaps of
// (f32 distance, i32 index) candidates per point, in the caller's memory, a lane sum, and the
// register tile of dot products both kernels search with.

export function laneSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Rows and columns of dotTile: 8 f32x4 accumulators, 6 row loads a step. */
export const TILE_ROWS: i32 = 4;
export const TILE_COLUMNS: i32 = 2;
/** dotTile's results, row-major (in the kernel's static data). */
const TILE_DOTS = memory.data(4 * TILE_ROWS * TILE_COLUMNS);

/**
 * The dot products of rows r0..r3 with rows c0 and c1 (rowBytes bytes of f32 each, a multiple of
 * 16), each summed over lanes by laneSum, for tileDot to read.
 */
export function dotTile(r0: usize, r1: usize, r2: usize, r3: usize, c0: usize, c1: usize, rowBytes: usize): void {
  let s00 = f32x4.splat(0);
  let s01 = f32x4.splat(0);
  let s10 = f32x4.splat(0);
  let s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0);
  let s21 = f32x4.splat(0);
  let s30 = f32x4.splat(0);
  let s31 = f32x4.splat(0);
  for (let t: usize = 0; t < rowBytes; t += 16) {
    const x0 = v128.load(c0 + t);
    const x1 = v128.load(c1 + t);
    const v0 = v128.load(r0 + t);
    const v1 = v128.load(r1 + t);
    const v2 = v128.load(r2 + t);
    const v3 = v128.load(r3 + t);
    s00 = f32x4.add(s00, f32x4.mul(v0, x0));
    s01 = f32x4.add(s01, f32x4.mul(v0, x1));
    s10 = f32x4.add(s10, f32x4.mul(v1, x0));
    s11 = f32x4.add(s11, f32x4.mul(v1, x1));
    s20 = f32x4.add(s20, f32x4.mul(v2, x0));
    s21 = f32x4.add(s21, f32x4.mul(v2, x1));
    s30 = f32x4.add(s30, f32x4.mul(v3, x0));
    s31 = f32x4.add(s31, f32x4.mul(v3, x1));
  }
  store<f32>(TILE_DOTS, laneSum(s00));
  store<f32>(TILE_DOTS, laneSum(s01), 4);
  store<f32>(TILE_DOTS, laneSum(s10), 8);
  store<f32>(TILE_DOTS, laneSum(s11), 12);
  store<f32>(TILE_DOTS, laneSum(s20), 16);
  store<f32>(TILE_DOTS, laneSum(s21), 20);
  store<f32>(TILE_DOTS, laneSum(s30), 24);
  store<f32>(TILE_DOTS, laneSum(s31), 28);
}

/** Row `row`'s dot product with column `column` of the last dotTile. */
export function tileDot(row: i32, column: i32): f32 {
  return load<f32>(TILE_DOTS + ((<usize>(row * TILE_COLUMNS + column)) << 2));
}

/** Whether (da, ia) comes after (db, ib) in nearest-first order. */
export function farther(da: f32, ia: i32, db: f32, ib: i32): bool {
  return da > db || (da === db && ia > ib);
}

/** Offers reference j at `distance` to query q's heap. */
export function offer(heapDistance: usize, heapIndex: usize, heapSize: usize, capacity: i32, q: i32, distance: f32, j: i32): void {
  const base = <usize>(q * capacity) * 4;
  const dist = heapDistance + base;
  const index = heapIndex + base;
  const sizePtr = heapSize + <usize>q * 4;
  const size = load<i32>(sizePtr);
  let slot: i32;
  if (size < capacity) {
    slot = size;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      const pd = load<f32>(dist + <usize>parent * 4);
      const pi = load<i32>(index + <usize>parent * 4);
      if (!farther(distance, j, pd, pi)) break;
      store<f32>(dist + <usize>slot * 4, pd);
      store<i32>(index + <usize>slot * 4, pi);
      slot = parent;
    }
    store<f32>(dist + <usize>slot * 4, distance);
    store<i32>(index + <usize>slot * 4, j);
    store<i32>(sizePtr, size + 1);
    return;
  }
  if (!farther(load<f32>(dist), load<i32>(index), distance, j)) return;
  slot = 0;
  for (;;) {
    let child = 2 * slot + 1;
    if (child >= capacity) break;
    let cd = load<f32>(dist + <usize>child * 4);
    let ci = load<i32>(index + <usize>child * 4);
    if (child + 1 < capacity) {
      const rd = load<f32>(dist + <usize>(child + 1) * 4);
      const ri = load<i32>(index + <usize>(child + 1) * 4);
      if (farther(rd, ri, cd, ci)) {
        child++;
        cd = rd;
        ci = ri;
      }
    }
    if (!farther(cd, ci, distance, j)) break;
    store<f32>(dist + <usize>slot * 4, cd);
    store<i32>(index + <usize>slot * 4, ci);
    slot = child;
  }
  store<f32>(dist + <usize>slot * 4, distance);
  store<i32>(index + <usize>slot * 4, j);
}
