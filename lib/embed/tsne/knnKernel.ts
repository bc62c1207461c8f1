/**
 * Drives the WebAssembly SIMD kernel (wasm/knn.ts, built to dist/wasm/knn.wasm) that proposes
 * neighbour candidates: f32 dot products, four rows by two columns at a time, offered to bounded
 * per-point heaps. Each thread runs its own instance on its share of the tile pairs; the caller
 * (neighbors.ts) merges the shares and makes the result exact.
 */
import { WASM_DATA_START, wasmInstance } from '../../wasmModules.js';

/** Rows per tile: two tiles of 768-D f32 rows stay in L2 cache. */
export const KNN_TILE = 64;

/** One share's candidates: for each point a max-heap of up to `capacity` (distance, index). */
export interface Candidates {
  capacity: number;
  /** Approximate squared distances (f32 sums), heap order; the farthest kept is first. */
  distance: Float32Array<ArrayBuffer>;
  index: Int32Array<ArrayBuffer>;
  /** Entries per point; below `capacity` means every pair of this share was kept. */
  size: Int32Array<ArrayBuffer>;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  norms(features: number, rows: number, dp: number, out: number): void;
  search(
    features: number,
    norms: number,
    heapDistance: number,
    heapIndex: number,
    heapSize: number,
    n: number,
    dp: number,
    capacity: number,
    tile: number,
    firstPair: number,
    endPair: number,
  ): void;
  exactDistances(features: number, d: number, i: number, candidates: number, count: number, out: number): void;
}

/** Number of tile pairs (a, b), b >= a, that cover every pair of n points. */
export function tilePairCount(n: number): number {
  const tiles = Math.ceil(n / KNN_TILE);
  return (tiles * (tiles + 1)) / 2;
}

/** Padded row length: a multiple of the four f32 lanes. */
export function paddedDimension(d: number): number {
  return Math.ceil(d / 4) * 4;
}

export interface ClaimedCandidates {
  candidates: Candidates;
  /** Tile pairs this thread searched. */
  pairsSearched: number;
}

/** Tile pairs claimed at a time: small enough to balance, large enough to amortise the claim. */
const PAIRS_PER_CLAIM = 8;

/**
 * Searches the tile pairs this thread claims from the shared counter `next` (an Int32Array of one
 * slot, starting at 0) until none are left, for the n rows of `features` (n x d), each point
 * keeping its `capacity` nearest by the kernel's approximate distance. Which thread searches
 * which pairs does not change the final neighbours (see neighbors.ts). Returns the candidates and
 * the number of pairs this thread searched.
 */
export function searchClaimedCandidates(
  features: Float32Array,
  n: number,
  d: number,
  capacity: number,
  next: Int32Array,
): ClaimedCandidates {
  const pairs = tilePairCount(n);
  if (Atomics.load(next, 0) >= pairs) return { candidates: emptyCandidates(n, capacity), pairsSearched: 0 };
  const dp = paddedDimension(d);
  const paddedRows = Math.ceil(n / 4) * 4;
  const featuresAt = WASM_DATA_START;
  const normsAt = featuresAt + paddedRows * dp * 4;
  const distanceAt = normsAt + paddedRows * 4;
  const indexAt = distanceAt + n * capacity * 4;
  const sizeAt = indexAt + n * capacity * 4;
  const end = sizeAt + n * 4;
  const kernel = wasmInstance<KernelExports>('knn', end);
  const memory = kernel.memory.buffer;
  const padded = new Float32Array(memory, featuresAt, paddedRows * dp);
  if (dp === d) padded.set(features.subarray(0, n * d));
  else for (let i = 0; i < n; i++) padded.set(features.subarray(i * d, (i + 1) * d), i * dp);
  kernel.norms(featuresAt, paddedRows, dp, normsAt);
  let pairsSearched = 0;
  for (let first = Atomics.add(next, 0, PAIRS_PER_CLAIM); first < pairs; first = Atomics.add(next, 0, PAIRS_PER_CLAIM)) {
    const endPair = Math.min(first + PAIRS_PER_CLAIM, pairs);
    kernel.search(featuresAt, normsAt, distanceAt, indexAt, sizeAt, n, dp, capacity, KNN_TILE, first, endPair);
    pairsSearched += endPair - first;
  }
  const candidates = {
    capacity,
    distance: new Float32Array(memory, distanceAt, n * capacity).slice(),
    index: new Int32Array(memory, indexAt, n * capacity).slice(),
    size: new Int32Array(memory, sizeAt, n).slice(),
  };
  return { candidates, pairsSearched };
}

function emptyCandidates(n: number, capacity: number): Candidates {
  return { capacity, distance: new Float32Array(0), index: new Int32Array(0), size: new Int32Array(n) };
}

/**
 * The exact squared distances, in float64, from one row of `features` (n x d) to a list of
 * others, computed by the kernel over its own copy of the rows: bit for bit what
 * neighbors.ts's squaredDistance gives, four times as fast.
 */
export class ExactDistances {
  private readonly kernel: KernelExports;
  private readonly candidatesAt: number;
  private readonly outAt: number;
  readonly candidates: Int32Array;

  /** For lists of up to `capacity` candidates. */
  constructor(
    features: Float32Array,
    n: number,
    private readonly d: number,
    capacity: number,
  ) {
    this.candidatesAt = WASM_DATA_START + Math.ceil((n * d) / 2) * 8;
    this.outAt = this.candidatesAt + Math.ceil(capacity / 2) * 8;
    this.kernel = wasmInstance<KernelExports>('knn', this.outAt + capacity * 8);
    new Float32Array(this.kernel.memory.buffer, WASM_DATA_START, n * d).set(features.subarray(0, n * d));
    this.candidates = new Int32Array(this.kernel.memory.buffer, this.candidatesAt, capacity);
  }

  /** The distances from row i to the first `count` rows listed in `candidates`. */
  from(i: number, count: number): Float64Array {
    this.kernel.exactDistances(WASM_DATA_START, this.d, i, this.candidatesAt, count, this.outAt);
    return new Float64Array(this.kernel.memory.buffer, this.outAt, count);
  }
}
