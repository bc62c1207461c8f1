/**
 * Exact k nearest neighbours under the Euclidean distance, the input of t-SNE's affinities.
 * A WebAssembly SIMD kernel (knnKernel.ts) ranks every pair by |a|^2 + |b|^2 - 2 a.b in f32,
 * split across the threads of a team, each pair measured once and offered to both points' bounded
 * heaps, so no n x n matrix is ever held. The shares' candidates are then merged and made exact:
 * the distances that can matter are recomputed from coordinate differences in float64, and a point
 * whose k-th exact distance is not provably below every rejected candidate (given the f32 error
 * bound) is scanned in full. The result is therefore the same whatever the thread count or tiling.
 *
 * The f32 error of a pair grows with its two norms, so one far outlier would make a bound taken
 * from the largest norm useless for every point (each then scanned in full: 32 s instead of 0.3
 * at n = 5000 with 5 outliers at 50 times the spread). The bound is instead taken per band of
 * norms (neighborsFromCandidates): a rejected pair with a small-norm partner has a small error,
 * and one with a large-norm partner is far by the triangle inequality alone.
 */
import { approximateNeighbors, type CellsRequest } from './approximateNeighbors.js';
import {
  type Candidates,
  type ClaimedCandidates,
  ExactDistances,
  paddedDimension,
  searchClaimedCandidates,
  tilePairCount,
} from './knnKernel.js';
import { type Neighbors, offer, sortHeap, squaredDistance } from './neighborHeap.js';
import type { ThreadTeam } from './team.js';

/** A helper's share of the exact search: the tile pairs it claims (see searchClaimedCandidates). */
export interface CandidatesRequest {
  kind: 'candidates';
  features: Float32Array;
  n: number;
  d: number;
  capacity: number;
  /** Shared counter of the tile pairs claimed so far. */
  next: Int32Array;
}

const F32_UNIT_ROUNDOFF = 2 ** -24;

/**
 * Candidates the exact search keeps per point beyond k. Its check needs the nearest rejected pair
 * to be farther than the k-th exact distance by the f32 error bound, which grows with the norms:
 * on points along a curve, where distances grow slowly with rank, CANDIDATE_SLACK's 8 left that
 * gap too small (a line of 5,000 points in 768-D: 1,018 points scanned in full, 8.2 s instead of
 * 1.8; the bench's curve at 20,000: 1,575 points, 46 s instead of 10 for the kNN), while 32 costs
 * nothing measurable on any bench shape (the same neighbours, the same time within noise).
 */
export const EXACT_CANDIDATE_SLACK = 32;

/**
 * The k nearest neighbours of each of the n rows of `features` (n x d, row-major), nearest
 * first, ties in distance to the smaller index. The kernel work is split over `team`'s threads.
 */
export async function exactNeighbors(
  features: Float32Array,
  n: number,
  d: number,
  k: number,
  team?: ThreadTeam<CandidatesRequest>,
): Promise<Neighbors> {
  const capacity = Math.min(n - 1, k + EXACT_CANDIDATE_SLACK);
  // Distances do not change under translation, but the kernel's f32 error grows with the norms:
  // centred rows (features often share a large offset) keep it small.
  const centred = centredRows(features, n, d);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const helpers = team?.callEach<ClaimedCandidates>({ kind: 'candidates', features: centred, n, d, capacity, next }) ?? [];
  const own = searchClaimedCandidates(centred, n, d, capacity, next);
  const shares = [own.candidates];
  // Helpers still starting when the last pair was claimed have nothing to add: do not wait for them.
  if (own.pairsSearched < tilePairCount(n)) for (const helper of await Promise.all(helpers)) shares.push(helper.candidates);
  return neighborsFromCandidates(features, centred, n, d, k, shares);
}

/**
 * Up to this many points the neighbours are exact (exactNeighbors), as the issue sets it; above,
 * approximate (approximateNeighbors): at 768-D the approximate search, recall 1.0 on the bench's
 * data, is already about 2x faster at 20,000 points and 3x at 50,000 (bench/neighbors.ts).
 */
export const EXACT_NEIGHBORS_UP_TO = 20_000;

/**
 * The k nearest neighbours of each of the n rows of `features` (see exactNeighbors): exact up to
 * `exactUpTo` points, approximate above, with the partition seeded by `seed`.
 */
export function nearestNeighbors(
  features: Float32Array,
  n: number,
  d: number,
  k: number,
  team?: ThreadTeam<CandidatesRequest | CellsRequest>,
  options: { seed?: number; exactUpTo?: number } = {},
): Promise<Neighbors> {
  return n <= (options.exactUpTo ?? EXACT_NEIGHBORS_UP_TO)
    ? exactNeighbors(features, n, d, k, team)
    : approximateNeighbors(features, n, d, k, team, options.seed ?? 0);
}

function centredRows(features: Float32Array, n: number, d: number): Float32Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a];
  for (let a = 0; a < d; a++) mean[a] /= n;
  const centred = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) centred[i * d + a] = features[i * d + a] - mean[a];
  return centred;
}

/**
 * The exact k nearest neighbours from the kernel's candidate shares (on the `centred` rows),
 * which together offered every pair once. An approximate distance is within `errorBound` of the
 * exact one: f32 rounding of the norms and dot products (about d / 4 + 4 roundings on each) and of
 * the centring (at most 4 roundings' worth, relative to the norms), doubled for safety.
 */
function neighborsFromCandidates(
  features: Float32Array,
  centred: Float32Array,
  n: number,
  d: number,
  k: number,
  shares: Candidates[],
): Neighbors {
  const norms = new Float64Array(n);
  let largestNorm = 0;
  for (let i = 0; i < n; i++) {
    norms[i] = squaredDistanceToOrigin(centred, i * d, d);
    largestNorm = Math.max(largestNorm, norms[i]);
  }
  const roundings = paddedDimension(d) / 4 + 4;
  const relativeError = 2 * (2 * roundings + 8) * F32_UNIT_ROUNDOFF;
  const bands = normBands(norms);

  const heapDistance = new Float64Array(n * k);
  const heapIndex = new Int32Array(n * k);
  const heapSize = new Int32Array(n);
  const candidateCapacity = shares.reduce((sum, share) => sum + share.capacity, 0);
  const approximate = new Float32Array(candidateCapacity);
  const exact = new ExactDistances(features, n, d, candidateCapacity);
  let rescanned = 0;
  for (let i = 0; i < n; i++) {
    const errorBound = relativeError * (norms[i] + largestNorm) * 1.01;
    // The nearest rejected pair of any share is at least this far (approximately).
    let rejectedFrom = Number.POSITIVE_INFINITY;
    let count = 0;
    for (const share of shares) {
      const size = share.size[i];
      if (size === share.capacity) rejectedFrom = Math.min(rejectedFrom, share.distance[i * share.capacity]);
      approximate.set(share.distance.subarray(i * share.capacity, i * share.capacity + size), count);
      count += size;
    }
    const sorted = approximate.subarray(0, count).sort();
    const kthApproximate = sorted[k - 1];
    // Exact distances of every candidate that could be among the k nearest.
    let listed = 0;
    for (const share of shares) {
      for (let t = i * share.capacity; t < i * share.capacity + share.size[i]; t++) {
        if (share.distance[t] <= kthApproximate + 2 * errorBound) exact.candidates[listed++] = share.index[t];
      }
    }
    const distances = exact.from(i, listed);
    for (let c = 0; c < listed; c++) offer(heapDistance, heapIndex, heapSize, k, i, distances[c], exact.candidates[c]);
    if (!(heapDistance[i * k] < rejectedLowerBound(norms[i], rejectedFrom, relativeError, bands))) {
      // A rejected pair might be nearer than the k-th: scan every point exactly.
      rescanned++;
      heapSize[i] = 0;
      for (let j = 0; j < n; j++)
        if (j !== i) offer(heapDistance, heapIndex, heapSize, k, i, squaredDistance(features, i * d, j * d, d), j);
    }
    sortHeap(heapDistance, heapIndex, i * k, k);
  }
  return { k, indices: heapIndex, sqDistances: heapDistance, rescanned };
}

/**
 * Splits of the squared norms into a lower and an upper band, at every power of two between the
 * smallest and the largest (a band may be empty): `below` is the largest squared norm of the lower
 * band, `above` the smallest of the upper one (Infinity for the split above every norm).
 */
function normBands(norms: Float64Array): { below: number; above: number }[] {
  const sorted = Float64Array.from(norms).sort();
  const bands: { below: number; above: number }[] = [];
  let start = 0;
  while (start < sorted.length) {
    // The last norm under the next power of two above sorted[start].
    const limit = 2 ** (Math.floor(Math.log2(Math.max(sorted[start], Number.MIN_VALUE))) + 1);
    let end = start;
    while (end + 1 < sorted.length && sorted[end + 1] < limit) end++;
    bands.push({ below: sorted[end], above: end + 1 < sorted.length ? sorted[end + 1] : Number.POSITIVE_INFINITY });
    start = end + 1;
  }
  return bands;
}

/**
 * A lower bound on the exact squared distance from a point of squared norm `norm` to any pair
 * partner its searches rejected, whose approximate distance is at least `rejectedFrom`: for each
 * split of the norms, a partner in the lower band is off by at most the f32 error of the two norms,
 * and one in the upper band is at least (|b| - |a|)^2 away; the best split's bound holds for all.
 */
function rejectedLowerBound(norm: number, rejectedFrom: number, relativeError: number, bands: { below: number; above: number }[]): number {
  let bound = Number.NEGATIVE_INFINITY;
  for (const { below, above } of bands) {
    const nearBand = rejectedFrom - relativeError * (norm + below) * 1.01;
    const gap = Math.sqrt(above) - Math.sqrt(norm);
    // The triangle inequality on centred f32 rows, less their own rounding; no upper band, no bound from it.
    const farBand =
      above === Number.POSITIVE_INFINITY ? above : gap > 0 ? gap * gap - relativeError * (norm + above) * 1.01 : Number.NEGATIVE_INFINITY;
    bound = Math.max(bound, Math.min(nearBand, farBand));
  }
  return bound;
}

function squaredDistanceToOrigin(features: Float32Array, offset: number, d: number): number {
  let sum = 0;
  for (let a = 0; a < d; a++) sum += features[offset + a] * features[offset + a];
  return sum;
}
