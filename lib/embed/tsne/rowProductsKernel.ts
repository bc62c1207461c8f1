/**
 * Drives the WebAssembly SIMD kernel (wasm/rowProducts.ts, built to dist/wasm/rowProducts.wasm)
 * behind the PCA initialisation (pca.ts): the covariance (d x d) or Gram (n x n) matrix of the
 * centred features, in blocks of ROW_PRODUCTS_BLOCK x ROW_PRODUCTS_BLOCK claimed by a ThreadTeam's
 * threads, and around it the column means, the subspace iteration's products and the final
 * projection. Each thread runs its own instance on a copy of the features. Every value is one f64
 * sum taken in order, as the plain float64 loop (`dot += x * y`) gives it: the results are those
 * of plain JavaScript bit for bit, whichever thread computed which block.
 */
import { WASM_DATA_START, wasmInstance } from '../../wasmModules.js';
import { workOnClaims } from './team.js';

/** Output indices per block side (the kernel's BLOCK). */
export const ROW_PRODUCTS_BLOCK = 64;
/** Shared-index values per packed stretch (the kernel's DEPTH). */
const DEPTH = 256;

/** The work of one row-products matrix, as the threads that share it see it. */
export interface RowProductsJob {
  /** n x d, row-major; on a SharedArrayBuffer when helper threads take part. */
  features: Float32Array;
  /** The features' column means (d). */
  mean: Float64Array;
  n: number;
  d: number;
  /** The n x n Gram matrix of the centred rows, rather than the d x d covariance. */
  gram: boolean;
  /** m x m (m = n or d), filled by the threads; on a SharedArrayBuffer when shared. */
  products: Float64Array;
  /** workOnClaims counter (two Int32 slots, on a SharedArrayBuffer). */
  counter: Int32Array;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  block(
    features: number,
    mean: number,
    n: number,
    d: number,
    gram: number,
    blockRow: number,
    blockColumn: number,
    packA: number,
    packB: number,
    out: number,
  ): void;
  multiply(s: number, m: number, basis: number, width: number, image: number): void;
  means(features: number, n: number, d: number, mean: number): void;
  project(features: number, mean: number, n: number, d: number, axes: number, out: number): void;
}

/** A fresh instance of the kernel with at least `bytes` of memory above WASM_DATA_START. */
function instantiate(bytes: number): KernelExports {
  return wasmInstance<KernelExports>('rowProducts', WASM_DATA_START + bytes);
}

/** Bytes, rounded up to a whole number of 16-byte vectors. */
function aligned(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * Products of a fixed symmetric m x m matrix with m x width blocks, as the PCA's subspace
 * iteration takes them: each entry summed in order over the matrix's columns, as the plain loop
 * `image[r][j] += s[r][c] * basis[c][j]` over c gives it.
 */
export class SymmetricProducts {
  private readonly kernel: KernelExports;
  /** Row length in the kernel's memory: width rounded up to even. */
  private readonly stride: number;
  private readonly basisAt: number;
  private readonly imageAt: number;

  constructor(
    s: Float64Array,
    private readonly m: number,
    private readonly width: number,
  ) {
    this.stride = width + (width % 2);
    this.basisAt = WASM_DATA_START + aligned(m * m * 8);
    this.imageAt = this.basisAt + aligned(m * this.stride * 8);
    this.kernel = instantiate(this.imageAt + m * this.stride * 8 - WASM_DATA_START);
    new Float64Array(this.kernel.memory.buffer, WASM_DATA_START, m * m).set(s.subarray(0, m * m));
  }

  /** image = s basis (both m x width, row-major). */
  multiply(basis: Float64Array, image: Float64Array): void {
    const { m, width, stride, kernel } = this;
    const memory = kernel.memory.buffer;
    const paddedBasis = new Float64Array(memory, this.basisAt, m * stride);
    const paddedImage = new Float64Array(memory, this.imageAt, m * stride);
    if (stride === width) paddedBasis.set(basis.subarray(0, m * width));
    else for (let r = 0; r < m; r++) paddedBasis.set(basis.subarray(r * width, (r + 1) * width), r * stride);
    kernel.multiply(WASM_DATA_START, m, this.basisAt, stride, this.imageAt);
    if (stride === width) image.set(paddedImage);
    else for (let r = 0; r < m; r++) image.set(paddedImage.subarray(r * stride, r * stride + width), r * width);
  }
}

/** Blocks per side of an m x m products matrix. */
function blocksPerSide(m: number): number {
  return Math.ceil(m / ROW_PRODUCTS_BLOCK);
}

/** Units of work (blocks on and above the diagonal) of the m x m products. */
export function rowProductUnits(m: number): number {
  const blocks = blocksPerSide(m);
  return (blocks * (blocks + 1)) / 2;
}

/**
 * One thread's instance of the kernel, on its own copy of the n x d features: their column means,
 * the row-products blocks it claims, and the projection on two axes.
 */
export class FeatureKernel {
  private readonly kernel: KernelExports;
  private readonly featuresAt = WASM_DATA_START;
  private readonly meanAt: number;
  private readonly packAAt: number;
  private readonly packBAt: number;
  private readonly outAt: number;
  private readonly axesAt: number;
  private readonly embeddingAt: number;

  constructor(
    features: Float32Array,
    private readonly n: number,
    private readonly d: number,
  ) {
    this.meanAt = this.featuresAt + aligned(n * d * 4);
    const packBytes = ROW_PRODUCTS_BLOCK * DEPTH * 8;
    this.packAAt = this.meanAt + aligned(d * 8);
    this.packBAt = this.packAAt + packBytes;
    this.outAt = this.packBAt + packBytes;
    this.axesAt = this.outAt + ROW_PRODUCTS_BLOCK * ROW_PRODUCTS_BLOCK * 8;
    this.embeddingAt = this.axesAt + aligned(2 * d * 8);
    this.kernel = instantiate(this.embeddingAt + 2 * n * 8 - WASM_DATA_START);
    new Float32Array(this.kernel.memory.buffer, this.featuresAt, n * d).set(features.subarray(0, n * d));
  }

  /** The column means, each the sum in order of i divided by n (as a plain float64 loop gives it). */
  means(): Float64Array {
    this.kernel.means(this.featuresAt, this.n, this.d, this.meanAt);
    return new Float64Array(this.kernel.memory.buffer, this.meanAt, this.d).slice();
  }

  /**
   * Computes the blocks of `job.products` (for these features) that this thread claims from
   * `job.counter` until none are left (see workOnClaims); both halves of each block are written.
   */
  workOn(job: RowProductsJob): void {
    const { n, d, gram, products, counter } = job;
    const { kernel, featuresAt, meanAt, packAAt, packBAt, outAt } = this;
    new Float64Array(kernel.memory.buffer, meanAt, d).set(job.mean.subarray(0, d));
    const out = new Float64Array(kernel.memory.buffer, outAt, ROW_PRODUCTS_BLOCK * ROW_PRODUCTS_BLOCK);
    const m = gram ? n : d;
    const blocks = blocksPerSide(m);
    workOnClaims(counter, rowProductUnits(m), (unit) => {
      // Units are numbered row by row: (0, 0), (0, 1), ..., (1, 1), ...
      let blockRow = 0;
      let first = 0;
      while (first + blocks - blockRow <= unit) first += blocks - blockRow++;
      const blockColumn = blockRow + unit - first;
      kernel.block(featuresAt, meanAt, n, d, gram ? 1 : 0, blockRow, blockColumn, packAAt, packBAt, outAt);
      const rowStart = blockRow * ROW_PRODUCTS_BLOCK;
      const columnStart = blockColumn * ROW_PRODUCTS_BLOCK;
      const rows = Math.min(ROW_PRODUCTS_BLOCK, m - rowStart);
      const columns = Math.min(ROW_PRODUCTS_BLOCK, m - columnStart);
      for (let r = 0; r < rows; r++) {
        for (let c = blockRow === blockColumn ? r : 0; c < columns; c++) {
          const value = out[r * ROW_PRODUCTS_BLOCK + c];
          products[(rowStart + r) * m + columnStart + c] = value;
          products[(columnStart + c) * m + rowStart + r] = value;
        }
      }
    });
  }

  /**
   * The features centred on `mean` projected on two axes (`axes`: 2 x d, row-major): n x 2,
   * row-major, each score summed in order of the features (as a plain float64 loop gives it).
   */
  project(mean: Float64Array, axes: Float64Array): Float64Array {
    const { kernel, n, d } = this;
    const memory = kernel.memory.buffer;
    new Float64Array(memory, this.meanAt, d).set(mean.subarray(0, d));
    const pairs = new Float64Array(memory, this.axesAt, 2 * d);
    for (let a = 0; a < d; a++) {
      pairs[2 * a] = axes[a];
      pairs[2 * a + 1] = axes[d + a];
    }
    kernel.project(this.featuresAt, this.meanAt, n, d, this.axesAt, this.embeddingAt);
    return new Float64Array(memory, this.embeddingAt, 2 * n).slice();
  }
}

/**
 * A helper's share of `job`: unless every block is already claimed, copies the features into an
 * instance of its own and computes the blocks it claims (see FeatureKernel.workOn).
 */
export function workOnRowProducts(job: RowProductsJob): void {
  if (Atomics.load(job.counter, 0) >= rowProductUnits(job.gram ? job.n : job.d)) return;
  new FeatureKernel(job.features, job.n, job.d).workOn(job);
}
