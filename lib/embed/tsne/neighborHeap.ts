/**
 * What every kNN search here returns, and the pieces they share: the float64 squared distance and
 * bounded max-heaps of (distance, index) per point, ordered nearest first with ties to the
 * smaller index, so that a search's result does not depend on the order candidates came in.
 */

export interface Neighbors {
  /** Number of neighbours per point. */
  k: number;
  /** indices[i * k + r]: the r-th nearest neighbour of point i (itself excluded). */
  indices: Int32Array;
  /** sqDistances[i * k + r]: its squared Euclidean distance, computed in float64. */
  sqDistances: Float64Array;
  /** Points whose candidates could not be proven complete and were scanned in full (exact search only). */
  rescanned?: number;
}

/**
 * Candidates kept per point beyond k by the f32 kernels' rankings, so that the float64 distances
 * can reorder near-equal ones (and the exact search's check rarely fails).
 */
export const CANDIDATE_SLACK = 8;

/** The float64 squared distance between the d-long rows of `features` at `offsetA` and `offsetB`. */
export function squaredDistance(features: Float32Array, offsetA: number, offsetB: number, d: number): number {
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
export function offer(
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
export function sortHeap(heapDistance: Float64Array, heapIndex: Int32Array, base: number, size: number): void {
  for (let end = size - 1; end > 0; end--) {
    const distance = heapDistance[base + end];
    const index = heapIndex[base + end];
    heapDistance[base + end] = heapDistance[base];
    heapIndex[base + end] = heapIndex[base];
    siftDown(heapDistance, heapIndex, base, end, 0, distance, index);
  }
}
