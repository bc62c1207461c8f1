/**
 * Exact k nearest neighbours under the Euclidean distance, the input of t-SNE's affinities.
 * Each pair is measured once (tiles of rows against tiles of columns, so that both tiles stay in
 * cache) and offered to both points' bounded max-heaps; no n x n matrix is ever held.
 */

export interface Neighbors {
  /** Number of neighbours per point. */
  k: number;
  /** indices[i * k + r]: the r-th nearest neighbour of point i (itself excluded). */
  indices: Int32Array;
  /** sqDistances[i * k + r]: its squared Euclidean distance, computed in float64. */
  sqDistances: Float64Array;
}

/** Rows per tile: two tiles of 768-D float32 rows (2 x 64 x 3 KiB) fit in L2 cache. */
const TILE = 64;

/**
 * The k nearest neighbours of each of the n rows of `features` (n x d, row-major), nearest
 * first. Ties in distance go to the smaller index, so the result does not depend on tiling.
 */
export function exactNeighbors(features: Float32Array, n: number, d: number, k: number): Neighbors {
  const heapDistance = new Float64Array(n * k);
  const heapIndex = new Int32Array(n * k);
  const heapSize = new Int32Array(n);

  for (let rowStart = 0; rowStart < n; rowStart += TILE) {
    const rowEnd = Math.min(rowStart + TILE, n);
    for (let columnStart = rowStart; columnStart < n; columnStart += TILE) {
      const columnEnd = Math.min(columnStart + TILE, n);
      for (let i = rowStart; i < rowEnd; i++) {
        const offsetI = i * d;
        for (let j = Math.max(columnStart, i + 1); j < columnEnd; j++) {
          const distance = squaredDistance(features, offsetI, j * d, d);
          offer(heapDistance, heapIndex, heapSize, k, i, distance, j);
          offer(heapDistance, heapIndex, heapSize, k, j, distance, i);
        }
      }
    }
  }

  for (let i = 0; i < n; i++) sortHeap(heapDistance, heapIndex, i * k, k);
  return { k, indices: heapIndex, sqDistances: heapDistance };
}

function squaredDistance(features: Float32Array, offsetA: number, offsetB: number, d: number): number {
  // Four running sums let the CPU overlap the additions.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let axis = 0;
  for (; axis + 3 < d; axis += 4) {
    const d0 = features[offsetA + axis] - features[offsetB + axis];
    const d1 = features[offsetA + axis + 1] - features[offsetB + axis + 1];
    const d2 = features[offsetA + axis + 2] - features[offsetB + axis + 2];
    const d3 = features[offsetA + axis + 3] - features[offsetB + axis + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; axis < d; axis++) {
    const delta = features[offsetA + axis] - features[offsetB + axis];
    s0 += delta * delta;
  }
  return s0 + s1 + (s2 + s3);
}

/** Whether (distanceA, indexA) comes after (distanceB, indexB) in nearest-first order. */
function farther(distanceA: number, indexA: number, distanceB: number, indexB: number): boolean {
  return distanceA > distanceB || (distanceA === distanceB && indexA > indexB);
}

/** Offers candidate j at `distance` to point i's max-heap of its k nearest so far. */
function offer(
  heapDistance: Float64Array,
  heapIndex: Int32Array,
  heapSize: Int32Array,
  k: number,
  i: number,
  distance: number,
  j: number,
): void {
  const base = i * k;
  const size = heapSize[i];
  if (size < k) {
    let slot = size;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (!farther(distance, j, heapDistance[base + parent], heapIndex[base + parent])) break;
      heapDistance[base + slot] = heapDistance[base + parent];
      heapIndex[base + slot] = heapIndex[base + parent];
      slot = parent;
    }
    heapDistance[base + slot] = distance;
    heapIndex[base + slot] = j;
    heapSize[i] = size + 1;
    return;
  }
  if (!farther(heapDistance[base], heapIndex[base], distance, j)) return;
  siftDown(heapDistance, heapIndex, base, k, 0, distance, j);
}

/** Places (distance, index) at `slot` of the max-heap [base, base + size) and sifts it down. */
function siftDown(
  heapDistance: Float64Array,
  heapIndex: Int32Array,
  base: number,
  size: number,
  slot: number,
  distance: number,
  index: number,
): void {
  for (;;) {
    let child = 2 * slot + 1;
    if (child >= size) break;
    if (
      child + 1 < size &&
      farther(heapDistance[base + child + 1], heapIndex[base + child + 1], heapDistance[base + child], heapIndex[base + child])
    ) {
      child++;
    }
    if (!farther(heapDistance[base + child], heapIndex[base + child], distance, index)) break;
    heapDistance[base + slot] = heapDistance[base + child];
    heapIndex[base + slot] = heapIndex[base + child];
    slot = child;
  }
  heapDistance[base + slot] = distance;
  heapIndex[base + slot] = index;
}

/** Heap sort in place: the max-heap [base, base + size) becomes nearest-first. */
function sortHeap(heapDistance: Float64Array, heapIndex: Int32Array, base: number, size: number): void {
  for (let end = size - 1; end > 0; end--) {
    const distance = heapDistance[base + end];
    const index = heapIndex[base + end];
    heapDistance[base + end] = heapDistance[base];
    heapIndex[base + end] = heapIndex[base];
    siftDown(heapDistance, heapIndex, base, end, 0, distance, index);
  }
}
