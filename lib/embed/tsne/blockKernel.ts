/**
 * Drives the WebAssembly SIMD kernel (wasm/blockKnn.ts, built to dist/wasm/blockKnn.wasm) of the
 * approximate kNN search: blocks of rows with their norms in one instance's memory, and bounded
 * per-query heaps of f32 squared distances that a search offers one block's rows to.
 */
import { WASM_DATA_START, wasmInstance } from '../../wasmModules.js';
import { paddedDimension } from './knnKernel.js';

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

/**
 * A kernel instance holding blocks of rows (each followed by PADDING_ROWS zero rows) with their
 * norms, a list of query row numbers, and heaps of `capacity` candidates (set before searching).
 */
export class BlockKernel {
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
export function copyCentred(
  features: Float32Array,
  firstRow: number,
  count: number,
  d: number,
  mean: Float64Array,
  padded: Float32Array,
): void {
  const dp = padded.length / count;
  for (let r = 0; r < count; r++) {
    const from = (firstRow + r) * d;
    for (let a = 0; a < d; a++) padded[r * dp + a] = features[from + a] - mean[a];
  }
}
