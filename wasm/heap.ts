// Helpers shared by the kNN kernels (wasm/knn.ts, wasm/blockKnn.ts): bounded max-heaps of
// (f32 distance, i32 index) candidates per point, in the caller's memory, and a lane sum.

export function laneSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
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
