/**
 * The SLS score of one layer: the mean silhouette coefficient of its min-max scaled 2-D t-SNE
 * embedding, with the class labels as clusters (DESIGN section 1, steps 2-3). Matches
 * scikit-learn's `silhouette_score` (Euclidean) and `MinMaxScaler`.
 */
import { InputError } from '../errors.js';
import { type DistanceSumsJob, sumBlocks } from './silhouetteKernel.js';

/**
 * Blocks per run (more where classes cut them): the kernel's scratch holds one block's row sums.
 *
 * One thread: a second one cost as much to start (about 120 ms under tsx) as it saved at 20,000
 * points (0.2 to 0.3 s alone), and a helper kept from call to call retained every call's shared
 * buffers (an idle isolate collects no garbage): 9 MB a call at 20,000 points.
 */
const BLOCKS = 64;

/**
 * Mean silhouette coefficient of `points` (n rows of `dim` coordinates, row-major) clustered by
 * `labels`, exactly as scikit-learn's `silhouette_score` with the Euclidean metric: for each
 * point, a = mean distance to the other members of its class, b = the smallest mean distance to
 * another class, s = (b - a) / max(a, b); s = 0 for a point alone in its class and where
 * a = b = 0. Needs 2 <= distinct labels <= n - 1. O(n^2) time (each pair measured once, by the
 * WASM kernel, see silhouetteKernel.ts), O(n * (classes + dim + blocks)) memory.
 */
export function silhouetteScore(points: Float64Array, dim: number, labels: Int32Array, source = 'silhouette'): number {
  if (!Number.isInteger(dim) || dim < 1) throw new InputError(source, `dimension must be a positive integer, got ${dim}`);
  const n = labels.length;
  if (points.length !== n * dim) {
    throw new InputError(source, `${points.length} coordinates do not make ${n} points of dimension ${dim}`);
  }
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i])) throw new InputError(source, `coordinate ${i} is ${points[i]}`);
  }
  const { classOf, classCount } = denseClasses(labels);
  if (classCount < 2 || classCount > n - 1) {
    throw new InputError(source, `the silhouette needs between 2 and n - 1 = ${n - 1} distinct labels, got ${classCount}`);
  }
  const job = distanceSumsJob(points, dim, classOf, classCount);
  sumBlocks(job);
  return meanSilhouette(job);
}

/**
 * The kernel's input: points sorted by class (counting sort, stable), so that each class is one
 * contiguous run, cut into blocks of one class each.
 */
function distanceSumsJob(points: Float64Array, dim: number, classOf: Int32Array, classCount: number): DistanceSumsJob {
  const n = classOf.length;
  const classStart = new Int32Array(classCount + 1);
  for (let i = 0; i < n; i++) classStart[classOf[i] + 1]++;
  for (let c = 0; c < classCount; c++) classStart[c + 1] += classStart[c];
  const coordinates = new Float64Array(n * dim);
  const fill = classStart.slice(0, classCount);
  for (let i = 0; i < n; i++) {
    const slot = fill[classOf[i]]++;
    for (let axis = 0; axis < dim; axis++) coordinates[axis * n + slot] = points[i * dim + axis];
  }
  const blockPoints = Math.ceil(n / BLOCKS);
  const blockStarts: number[] = [];
  for (let c = 0; c < classCount; c++) {
    for (let first = classStart[c]; first < classStart[c + 1]; first += blockPoints) blockStarts.push(first);
  }
  blockStarts.push(n);
  const blocks = blockStarts.length - 1;
  const blockStart = Int32Array.from(blockStarts);
  const columnStart = new Int32Array(blocks + 1);
  for (let b = 0; b < blocks; b++) columnStart[b + 1] = columnStart[b] + n - blockStart[b] - 1;
  return {
    n,
    dim,
    classCount,
    coordinates,
    classStart,
    blockStart,
    columnStart,
    rowSums: new Float64Array(n * classCount),
    columnSums: new Float64Array(columnStart[blocks]),
  };
}

/**
 * The silhouette from the kernel's sums: each point's sum to a class is its row sum, then the
 * column sums of that class's blocks in block order, added into job.rowSums in place.
 */
function meanSilhouette(job: DistanceSumsJob): number {
  const { n, classCount, classStart, blockStart, columnStart, columnSums } = job;
  // distanceSums[p * classCount + c]: sum of the distances from sorted point p to the members of class c.
  const distanceSums = job.rowSums;
  let blockClass = 0;
  for (let b = 0; b < blockStart.length - 1; b++) {
    const first = blockStart[b];
    while (classStart[blockClass + 1] <= first) blockClass++;
    const columns = columnStart[b] - first - 1;
    for (let q = first + 1; q < n; q++) distanceSums[q * classCount + blockClass] += columnSums[columns + q];
  }
  let total = 0;
  let own = 0;
  for (let p = 0; p < n; p++) {
    while (classStart[own + 1] <= p) own++;
    const ownSize = classStart[own + 1] - classStart[own];
    if (ownSize === 1) continue; // a point alone in its class scores 0
    const sumsP = p * classCount;
    const a = distanceSums[sumsP + own] / (ownSize - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < classCount; c++) {
      if (c === own) continue;
      const meanToC = distanceSums[sumsP + c] / (classStart[c + 1] - classStart[c]);
      if (meanToC < b) b = meanToC;
    }
    const larger = Math.max(a, b);
    if (larger > 0) total += (b - a) / larger; // a = b = 0 is 0/0, which scikit-learn scores 0
  }
  return total / n;
}

/**
 * Scales each of the `dim` axes of `points` to [0, 1] as scikit-learn's `MinMaxScaler` does
 * (x * scale + offset with scale = 1 / range, so the rounding matches); a constant axis maps to 0.
 */
export function minMaxScale(points: Float64Array, dim: number): Float64Array {
  const n = points.length / dim;
  const scaled = new Float64Array(points.length);
  for (let axis = 0; axis < dim; axis++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const value = points[i * dim + axis];
      if (value < min) min = value;
      if (value > max) max = value;
    }
    const range = max - min;
    const scale = range === 0 ? 1 : 1 / range;
    const offset = -min * scale;
    for (let i = 0; i < n; i++) scaled[i * dim + axis] = points[i * dim + axis] * scale + offset;
  }
  return scaled;
}

/**
 * SC of one layer: the silhouette of the 2-D embedding (x[i], y[i]) after min-max scaling each
 * axis to [0, 1].
 */
export function slsScore(x: ArrayLike<number>, y: ArrayLike<number>, labels: Int32Array, source = 'embedding'): number {
  const n = labels.length;
  if (x.length !== n || y.length !== n) {
    throw new InputError(source, `${x.length} x and ${y.length} y coordinates for ${n} labels`);
  }
  const points = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    points[2 * i] = x[i];
    points[2 * i + 1] = y[i];
  }
  return silhouetteScore(minMaxScale(points, 2), 2, labels, source);
}

/** Maps arbitrary integer labels to 0..classCount-1 (in order of first appearance). */
function denseClasses(labels: Int32Array): { classOf: Int32Array; classCount: number } {
  const indexOfLabel = new Map<number, number>();
  const classOf = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    let index = indexOfLabel.get(labels[i]);
    if (index === undefined) {
      index = indexOfLabel.size;
      indexOfLabel.set(labels[i], index);
    }
    classOf[i] = index;
  }
  return { classOf, classCount: indexOfLabel.size };
}
