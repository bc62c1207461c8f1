/**
 * Drives the WebAssembly SIMD kernel (wasm/silhouette.ts, built to dist/wasm/silhouette.wasm) that
 * measures the silhouette's pairwise distances in f64, each pair once, block by block of
 * class-sorted points; a block's sums are written to its own slots.
 */
import { WASM_DATA_START, wasmInstance } from '../wasmModules.js';

/** One silhouette's pair distances, laid out for the kernel. */
export interface DistanceSumsJob {
  n: number;
  dim: number;
  classCount: number;
  /** The points sorted by class, axis-major: coordinates[axis * n + q]. */
  coordinates: Float64Array;
  /** Class c holds the sorted points classStart[c] .. classStart[c + 1] - 1. */
  classStart: Int32Array;
  /** Block b holds the sorted points blockStart[b] .. blockStart[b + 1] - 1, all of one class. */
  blockStart: Int32Array;
  /** Where block b's column sums start in `columnSums`. */
  columnStart: Int32Array;
  /**
   * rowSums[p * classCount + c]: sum of the distances from sorted point p to the points of class
   * c after p (each row written by p's block).
   */
  rowSums: Float64Array;
  /**
   * columnSums[columnStart[b] + q - blockStart[b] - 1], q > blockStart[b]: sum of the distances
   * from q to the points of block b before q.
   */
  columnSums: Float64Array;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  rowBlock(
    coordinates: number,
    n: number,
    dim: number,
    classStart: number,
    classCount: number,
    first: number,
    end: number,
    rowSums: number,
    columnSums: number,
  ): void;
}

/** Runs every block of `job`, filling its row and column sums. */
export function sumBlocks(job: DistanceSumsJob): void {
  const { n, dim, classCount, blockStart } = job;
  const blocks = blockStart.length - 1;
  let largestBlock = 0;
  for (let b = 0; b < blocks; b++) largestBlock = Math.max(largestBlock, blockStart[b + 1] - blockStart[b]);
  const coordinatesAt = WASM_DATA_START;
  const rowSumsAt = coordinatesAt + n * dim * 8;
  const columnSumsAt = rowSumsAt + largestBlock * classCount * 8;
  const classStartAt = columnSumsAt + n * 8;
  const end = classStartAt + (classCount + 1) * 4;
  const kernel = wasmInstance<KernelExports>('silhouette', end);
  const memory = kernel.memory.buffer;
  new Float64Array(memory, coordinatesAt, n * dim).set(job.coordinates);
  new Int32Array(memory, classStartAt, classCount + 1).set(job.classStart);
  for (let block = 0; block < blocks; block++) {
    const first = blockStart[block];
    const last = blockStart[block + 1];
    kernel.rowBlock(coordinatesAt, n, dim, classStartAt, classCount, first, last, rowSumsAt, columnSumsAt);
    job.rowSums.set(new Float64Array(memory, rowSumsAt, (last - first) * classCount), first * classCount);
    job.columnSums.set(new Float64Array(memory, columnSumsAt, n - first - 1), job.columnStart[block]);
  }
}
