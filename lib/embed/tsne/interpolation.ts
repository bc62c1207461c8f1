/**
 * The repulsive half of the t-SNE gradient by FFT-accelerated interpolation (Linderman et al.
 * 2019, "FIt-SNE"), as FIt-SNE and openTSNE compute it in two dimensions: the square around the
 * embedding is cut into boxes (at least one per unit of length), each with p x p equispaced
 * interpolation nodes; every point spreads four charges (1, x, y, x^2 + y^2) to
 * the nodes of its box with Lagrange weights; the node potentials are the charges convolved with
 * the squared Cauchy kernel 1 / (1 + d^2)^2, a Toeplitz product done as a circular convolution by
 * FFT; each point then reads its four potentials back with the same weights. From them
 *   sum_j w_ij^2 (y_i - y_j) = y_i phi_1 - (phi_2, phi_3),
 *   sum_j w_ij = (1 + |y_i|^2) phi_1 - 2 y_i . (phi_2, phi_3) + phi_4   (1 of it from j = i),
 * so one gradient costs O(n) plus FFTs of a grid whose size depends on the embedding's extent,
 * not on n. Coordinates are taken relative to the square's centre, which keeps the cancellation
 * in the second sum small.
 *
 * The two real charge pairs (1, x) and (y, x^2 + y^2) ride as the real and imaginary parts of two
 * complex grids; the kernel is real and even, so its spectrum is real and one product serves both.
 *
 * One deliberate difference: p = 4 nodes per box where FIt-SNE and openTSNE use 3. With 3, the
 * near-field interpolation error (about 2% of the gradient at one box per unit) costs about 1.5%
 * in the final exact KL against the Barnes-Hut gradient's (openTSNE's own KL is 2% above
 * scikit-learn's); with 4 the KL is within 0.15% (measured at n = 5000, two data seeds), for a
 * grid 4/3 as fine a side. The grid's minimum stays FIt-SNE's, 150 nodes a side.
 *
 * Threads: a gradient is four lockstep rounds of work units (team.ts). Round 1: the points
 * placed on the grid, in point chunks; round 2: each pair's spreading and forward transform, the
 * kernel's spectrum, and the attraction in point chunks; round 3: each pair's product and inverse
 * transform; round 4: the potentials read back, in point chunks. Every unit's arithmetic is
 * fixed, and the chunks' shares of Z are added in chunk order, so the gradient is bit-identical
 * whatever the thread count.
 */
import { sharedWasmMemory, WASM_DATA_START } from '../../wasmModules.js';
import type { SparseAffinities } from './affinity.js';
import { AttractionKernel, type SharedAttraction, sharedAttraction } from './attraction.js';
import { FftKernel, FftPlan, fftLength, twiddleCapacity } from './fft.js';
import { chunkStart, lockstepObjective, type TeamObjective } from './gradient.js';
import { claimUnit, finishUnit, type Lockstep, lockstepControl, sharedFloat64, startLockstep, type ThreadTeam } from './team.js';

/** Interpolation nodes per box and axis (FIt-SNE's n_interpolation_points, which is 3 there). */
export const NODES_PER_BOX = 4;
/** Fewest nodes a side: FIt-SNE's minimum grid (50 intervals of 3 nodes). */
export const MIN_NODES = 150;
/** Boxes per unit of embedding length, at least (FIt-SNE's intervals_per_integer). */
const BOXES_PER_UNIT = 1;
/**
 * Largest FFT length a side (the grids then take about 540 MB): an embedding wider than 255
 * units gets boxes wider than one unit, and a less accurate gradient, rather than more memory.
 */
export const MAX_FFT_LENGTH = 2048;
/** Grids are allocated this much larger than needed, so an embedding that grows rarely reallocates. */
const CAPACITY_HEADROOM = 1.25;
/** Node j sits at (j + 1/2) / NODES_PER_BOX of its box's width. */
const NODE_POSITIONS = Float64Array.from({ length: NODES_PER_BOX }, (_, j) => (j + 0.5) / NODES_PER_BOX);
/** The Lagrange weights' constant factors: 1 / prod_{k != j} (t_j - t_k). */
const WEIGHT_FACTORS = NODE_POSITIONS.map(
  (tj, j) => 1 / NODE_POSITIONS.reduce((product, tk, k) => (k === j ? product : product * (tj - tk)), 1),
);

/** The grid of one gradient: L-point FFTs over m = p * boxes nodes a side (2m - 1 <= L). */
export interface GridShape {
  boxes: number;
  /** Nodes a side. */
  nodes: number;
  /** FFT length, a side. */
  length: number;
}

/** The grid for an embedding whose square has side `extent`: as few FFT points as allowed, then as many boxes as they hold. */
export function gridShape(extent: number): GridShape {
  const minimumBoxes = Math.max(Math.ceil(MIN_NODES / NODES_PER_BOX), Math.ceil(extent * BOXES_PER_UNIT));
  const length = Math.min(MAX_FFT_LENGTH, fftLength(2 * NODES_PER_BOX * minimumBoxes - 1));
  const boxes = Math.floor((length + 1) / (2 * NODES_PER_BOX));
  return { boxes, nodes: NODES_PER_BOX * boxes, length };
}

/** Point chunks of the attraction and of the read-back, whatever the thread count. */
const POINT_CHUNKS = 16;
const PAIRS = 2;
/** The rounds of one gradient, and their units. */
const PLACE_ROUND = 0;
const SPREAD_ROUND = 1;
const KERNEL_UNIT = PAIRS;
const CONVOLVE_ROUND = 2;
const GATHER_ROUND = 3;
const ROUND_UNITS = [POINT_CHUNKS, PAIRS + 1 + POINT_CHUNKS, PAIRS, POINT_CHUNKS];
/** parameters[]: what every member reads for the round it is woken for. */
const EXAGGERATION = 0;
const ROUND = 1;
const LENGTH = 2;
const BOXES = 3;
const BOX_WIDTH = 4;
/** 1 when the kernel's spectrum must be recomputed this gradient (the grid's spacing changed). */
const KERNEL_STALE = 5;
/** The grid square's lower bound on both axes. */
const LOW = 6;
const PARAMETER_SLOTS = 7;
/**
 * Box widths are rounded up to a power of this: the kernel's spectrum, which depends only on
 * the width and the FFT length, is then reused while the embedding's extent stays within a step
 * (most gradients), at the price of boxes at most 2% wider than the extent needs.
 */
const BOX_WIDTH_STEP = 1.02;

/** Real and imaginary parts. */
interface ComplexGrid {
  re: Float64Array;
  im: Float64Array;
}

/** What the members of a team share for the gradients (all on SharedArrayBuffers). */
export interface SharedInterpolation {
  /** n x 2, the embedding, relative to the grid square's centre. */
  centred: Float64Array;
  /** n x 2: each point's box on each axis. */
  box: Int32Array;
  /** n x 2p: each point's p Lagrange weights on each axis. */
  weights: Float64Array;
  /** n x 2, per point: the unnormalised repulsion sum_j w_ij^2 (y_i - y_j). */
  repulsion: Float64Array;
  /** P, and the embedding (not centred) every member places on the grid. */
  attraction: SharedAttraction;
  /** Per point chunk: its points' share of Z. */
  zParts: Float64Array;
  parameters: Float64Array;
  /** The grids' memory, for FFTs of up to `capacity` points a side (see GridViews). */
  grids: { capacity: number; memory: WebAssembly.Memory };
  control: Int32Array;
}

/** A helper's part of the interpolation gradients: serve rounds until stopped (replies when stopped). */
export interface InterpolationRequest {
  kind: 'interpolation';
  affinities: SparseAffinities;
  shared: SharedInterpolation;
}

/**
 * The grids, in the FFT kernel's shared memory, for FFT lengths up to `capacity`: the current
 * plan's twiddles, the kernel's spectrum (real, divided by L^2, [L][L]) and its scratch, and per
 * charge pair two [L][m] grids (charges in, potentials out) and two [L][L] ones (its spectrum
 * between rounds 1 and 2), each second one the other's scratch: a transform leaves its result in
 * either.
 */
class GridViews {
  readonly twiddles: Float64Array;
  readonly spectrum: Float64Array;
  /** Six grids of L^2 / 2 values for the kernel's spectrum. */
  readonly kernelScratch: Float64Array[];
  readonly narrow: ComplexGrid[][];
  readonly wide: ComplexGrid[][];
  /** Bytes the views take above WASM_DATA_START. */
  readonly bytes: number;

  /** Views of `memory`, or with none only the layout's size. */
  constructor(memory: WebAssembly.Memory | undefined, capacity: number) {
    const square = capacity * capacity;
    let at = WASM_DATA_START;
    const take = (values: number) => {
      const view = memory ? new Float64Array(memory.buffer, at, values) : new Float64Array(0);
      at += 8 * values;
      return view;
    };
    const grid = (values: number): ComplexGrid => ({ re: take(values), im: take(values) });
    this.twiddles = take(twiddleCapacity(capacity));
    this.spectrum = take(square);
    this.kernelScratch = Array.from({ length: 6 }, () => take(square / 2));
    // m <= L / 2 nodes a side.
    this.narrow = Array.from({ length: PAIRS }, () => [grid(square / 2), grid(square / 2)]);
    this.wide = Array.from({ length: PAIRS }, () => [grid(square), grid(square)]);
    this.bytes = at - WASM_DATA_START;
  }
}

/** The grid of `grids` that a transform from grids[0] (scratch grids[1]) leaves its result in. */
function resultOf(grids: ComplexGrid[], plan: FftPlan): ComplexGrid {
  return grids[plan.resultInScratch ? 1 : 0];
}

/** One member's part of every gradient: the units it claims, with its own kernel instance and plans. */
export class InterpolationShare {
  private readonly plans = new Map<number, FftPlan>();
  private memory: WebAssembly.Memory | undefined;
  private views!: GridViews;
  private kernel!: FftKernel;
  readonly attraction: AttractionKernel;

  constructor(
    private readonly affinities: SparseAffinities,
    private readonly shared: SharedInterpolation,
  ) {
    this.attraction = new AttractionKernel(shared.attraction);
  }

  compute(round: number): void {
    this.attach();
    const { control, parameters } = this.shared;
    const phase = parameters[ROUND];
    const units = ROUND_UNITS[phase];
    for (let unit = claimUnit(control, round, units); unit >= 0; unit = claimUnit(control, round, units)) {
      this.work(phase, unit);
      finishUnit(control);
    }
  }

  private work(phase: number, unit: number): void {
    const { shared, views } = this;
    const { parameters } = shared;
    const { n } = this.affinities;
    const plan = this.plan(parameters[LENGTH]);
    const nodes = NODES_PER_BOX * parameters[BOXES];
    if (phase === PLACE_ROUND) {
      placePoints(this.attraction.embedding, chunkStart(unit, n, POINT_CHUNKS), chunkStart(unit + 1, n, POINT_CHUNKS), shared);
    } else if (phase === SPREAD_ROUND && unit < PAIRS) {
      spreadCharges(unit, n, shared, views.narrow[unit][0], plan.length, nodes);
      this.forward(plan, nodes, views.narrow[unit], views.wide[unit]);
    } else if (phase === SPREAD_ROUND && unit === KERNEL_UNIT) {
      if (parameters[KERNEL_STALE] === 1) this.kernelSpectrum(plan, parameters[BOX_WIDTH] / NODES_PER_BOX);
    } else if (phase === SPREAD_ROUND) {
      const chunk = unit - KERNEL_UNIT - 1;
      this.attraction.rows(chunkStart(chunk, n, POINT_CHUNKS), chunkStart(chunk + 1, n, POINT_CHUNKS), parameters[EXAGGERATION]);
    } else if (phase === CONVOLVE_ROUND) {
      this.inverse(plan, nodes, views.narrow[unit], views.wide[unit]);
    } else {
      const potentials = views.narrow.map((pair) => resultOf(pair, plan));
      shared.zParts[unit] = gatherPotentials(
        chunkStart(unit, n, POINT_CHUNKS),
        chunkStart(unit + 1, n, POINT_CHUNKS),
        shared,
        potentials,
        nodes,
      );
    }
  }

  /** The coordinator's part before a gradient whose FFT length differs from the last one's. */
  writeTwiddles(length: number): void {
    this.attach();
    this.views.twiddles.set(this.plan(length).twiddles);
  }

  /** Views and a kernel instance on the current grids' memory. */
  private attach(): void {
    const { grids } = this.shared;
    if (grids.memory !== this.memory) {
      this.memory = grids.memory;
      this.views = new GridViews(grids.memory, grids.capacity);
      this.kernel = new FftKernel(grids.memory);
    }
  }

  /** The plan for `length`; the coordinator has written its twiddles to the shared memory. */
  private plan(length: number): FftPlan {
    let plan = this.plans.get(length);
    if (!plan) {
      plan = new FftPlan(length);
      this.plans.set(length, plan);
    }
    return plan;
  }

  /** Charges [x][y] in narrow[0] (rows >= m zero) to their spectrum [ky][kx] in one of `wide`. */
  private forward(plan: FftPlan, nodes: number, narrow: ComplexGrid[], wide: ComplexGrid[]): void {
    const { kernel, views } = this;
    const length = plan.length;
    const [byXRe, byXIm] = kernel.transform(plan, views.twiddles, narrow[0].re, narrow[0].im, nodes, narrow[1].re, narrow[1].im);
    transpose(byXRe, byXIm, length, nodes, wide[0].re, wide[0].im, length);
    wide[0].re.fill(0, nodes * length, length * length);
    wide[0].im.fill(0, nodes * length, length * length);
    kernel.transform(plan, views.twiddles, wide[0].re, wide[0].im, length, wide[1].re, wide[1].im);
  }

  /**
   * A pair's spectrum (left by `forward`) times the kernel's, transformed back to potentials
   * [x][y] in one of `narrow`: inverse transforms as forward ones on the conjugate (the kernel's
   * spectrum carries the 1 / L^2).
   */
  private inverse(plan: FftPlan, nodes: number, narrow: ComplexGrid[], wide: ComplexGrid[]): void {
    const { kernel, views } = this;
    const length = plan.length;
    const product = resultOf(wide, plan);
    const other = wide[plan.resultInScratch ? 0 : 1];
    kernel.multiplyConjugate(product.re, product.im, views.spectrum, length * length);
    const [byYRe, byYIm] = kernel.transform(plan, views.twiddles, product.re, product.im, length, other.re, other.im);
    transpose(byYRe, byYIm, nodes, length, narrow[0].re, narrow[0].im, nodes);
    const [, potentialsIm] = kernel.transform(plan, views.twiddles, narrow[0].re, narrow[0].im, nodes, narrow[1].re, narrow[1].im);
    for (let t = 0; t < nodes * nodes; t++) potentialsIm[t] = -potentialsIm[t];
  }

  /**
   * The 2-D DFT of the squared Cauchy kernel at node lags (circularly embedded: lag min(t, L - t))
   * for node spacing `spacing`, divided by L^2 (the inverse transform's scale), to the shared
   * spectrum [L][L]. The kernel is real and even on both axes, so each of its 1-D transforms is
   * real: two real sequences go through one complex FFT.
   */
  private kernelSpectrum(plan: FftPlan, spacing: number): void {
    const { kernel, views } = this;
    const { spectrum, twiddles } = views;
    const [re, im, packedRe, packedIm, scratchRe, scratchIm] = views.kernelScratch;
    const length = plan.length;
    const half = length / 2;
    const squaredLag = (t: number) => {
      const lag = Math.min(t, length - t) * spacing;
      return lag * lag;
    };
    const scale = 1 / (length * length);
    // Columns u and u + L/2 as one complex sequence along the first axis, [L][L/2].
    for (let t = 0; t < length; t++) {
      const rowTerm = 1 + squaredLag(t);
      for (let u = 0; u < half; u++) {
        const left = rowTerm + squaredLag(u);
        const right = rowTerm + squaredLag(u + half);
        re[t * half + u] = scale / (left * left);
        im[t * half + u] = scale / (right * right);
      }
    }
    const [columnsRe, columnsIm] = kernel.transform(plan, twiddles, re, im, half, scratchRe, scratchIm);
    // Rows a and a + L/2 of that (real) result as one sequence along the second axis, [L][L/2].
    for (let a = 0; a < half; a++) {
      for (let u = 0; u < half; u++) {
        packedRe[u * half + a] = columnsRe[a * half + u];
        packedRe[(u + half) * half + a] = columnsIm[a * half + u];
        packedIm[u * half + a] = columnsRe[(a + half) * half + u];
        packedIm[(u + half) * half + a] = columnsIm[(a + half) * half + u];
      }
    }
    const [rowsRe, rowsIm] = kernel.transform(plan, twiddles, packedRe, packedIm, half, scratchRe, scratchIm);
    // spectrum[ku][a]; the kernel is symmetric in its two axes, and so is its spectrum.
    for (let ku = 0; ku < length; ku++) {
      for (let a = 0; a < half; a++) {
        spectrum[ku * length + a] = rowsRe[ku * half + a];
        spectrum[ku * length + a + half] = rowsIm[ku * half + a];
      }
    }
  }
}

/**
 * Writes the first `rows` rows of `fromRe/fromIm` ([rows...][columns], rows of `columns` values)
 * transposed to `toRe/toIm` ([columns][rows], rows of `toStride` values), in cache-sized tiles.
 */
function transpose(
  fromRe: Float64Array,
  fromIm: Float64Array,
  rows: number,
  columns: number,
  toRe: Float64Array,
  toIm: Float64Array,
  toStride: number,
): void {
  const TILE = 16;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let c0 = 0; c0 < columns; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, columns);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          toRe[c * toStride + r] = fromRe[r * columns + c];
          toIm[c * toStride + r] = fromIm[r * columns + c];
        }
      }
    }
  }
}

/** Lagrange weights of the p nodes of a box at relative position t in [0, 1], to out[at..at + p - 1]. */
function lagrangeWeights(t: number, out: Float64Array, at: number): void {
  for (let j = 0; j < NODES_PER_BOX; j++) {
    let product = WEIGHT_FACTORS[j];
    for (let k = 0; k < NODES_PER_BOX; k++) if (k !== j) product *= t - NODE_POSITIONS[k];
    out[at + j] = product;
  }
}

/**
 * The square around `embedding` (n x 2) that the grid covers: its lower bound on both axes and
 * its side, the larger coordinate range (positive even for coincident points).
 */
export function embeddingSquare(embedding: Float64Array): { low: number; extent: number } {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < embedding.length; t++) {
    if (embedding[t] < low) low = embedding[t];
    if (embedding[t] > high) high = embedding[t];
  }
  return { low, extent: Math.max(high - low, 1e-6) };
}

/** The grid for `embedding` (n x 2): its shape, box width and lower bound. */
function gridFor(embedding: Float64Array): { shape: GridShape; boxWidth: number; low: number } {
  const { low, extent } = embeddingSquare(embedding);
  const shape = gridShape(extent);
  const exponent = Math.ceil(Math.log(extent / shape.boxes) / Math.log(BOX_WIDTH_STEP));
  const boxWidth = BOX_WIDTH_STEP ** (BOX_WIDTH_STEP ** exponent * shape.boxes < extent ? exponent + 1 : exponent);
  return { shape, boxWidth, low };
}

/** Places points start..end - 1 of `embedding` on the grid: their boxes, weights and centred coordinates. */
function placePoints(embedding: Float64Array, start: number, end: number, shared: SharedInterpolation): void {
  const { parameters, box, weights, centred } = shared;
  const low = parameters[LOW];
  const boxWidth = parameters[BOX_WIDTH];
  const boxes = parameters[BOXES];
  const centre = low + (boxWidth * boxes) / 2;
  for (let t = 2 * start; t < 2 * end; t++) {
    const position = (embedding[t] - low) / boxWidth;
    const cell = Math.min(Math.floor(position), boxes - 1);
    box[t] = cell;
    lagrangeWeights(position - cell, weights, NODES_PER_BOX * t);
    centred[t] = embedding[t] - centre;
  }
}

/**
 * Spreads charge pair `pair` to the nodes, on [L][m] grids (x node, y node; rows >= m zero): pair
 * 0 is (1, x) as real and imaginary parts, pair 1 is (y, x^2 + y^2).
 */
function spreadCharges(pair: number, n: number, shared: SharedInterpolation, grid: ComplexGrid, length: number, nodes: number): void {
  const { box, weights, centred } = shared;
  const { re, im } = grid;
  re.fill(0, 0, length * nodes);
  im.fill(0, 0, length * nodes);
  for (let i = 0; i < n; i++) {
    const x = centred[2 * i];
    const y = centred[2 * i + 1];
    const realCharge = pair === 0 ? 1 : y;
    const imaginaryCharge = pair === 0 ? x : x * x + y * y;
    const firstRow = NODES_PER_BOX * box[2 * i];
    const firstColumn = NODES_PER_BOX * box[2 * i + 1];
    for (let a = 0; a < NODES_PER_BOX; a++) {
      const rowWeight = weights[2 * NODES_PER_BOX * i + a];
      const row = (firstRow + a) * nodes + firstColumn;
      for (let b = 0; b < NODES_PER_BOX; b++) {
        const weight = rowWeight * weights[NODES_PER_BOX * (2 * i + 1) + b];
        re[row + b] += weight * realCharge;
        im[row + b] += weight * imaginaryCharge;
      }
    }
  }
}

/** Reads the four potentials of points start..end - 1; writes their repulsion, returns their sum_j w_ij (j != i). */
function gatherPotentials(start: number, end: number, shared: SharedInterpolation, potentials: ComplexGrid[], nodes: number): number {
  const { box, weights, centred, repulsion } = shared;
  const { re: ones, im: xs } = potentials[0];
  const { re: ys, im: squares } = potentials[1];
  let z = 0;
  for (let i = start; i < end; i++) {
    let phiOne = 0;
    let phiX = 0;
    let phiY = 0;
    let phiSquare = 0;
    const firstRow = NODES_PER_BOX * box[2 * i];
    const firstColumn = NODES_PER_BOX * box[2 * i + 1];
    for (let a = 0; a < NODES_PER_BOX; a++) {
      const rowWeight = weights[2 * NODES_PER_BOX * i + a];
      const row = (firstRow + a) * nodes + firstColumn;
      for (let b = 0; b < NODES_PER_BOX; b++) {
        const weight = rowWeight * weights[NODES_PER_BOX * (2 * i + 1) + b];
        phiOne += weight * ones[row + b];
        phiX += weight * xs[row + b];
        phiY += weight * ys[row + b];
        phiSquare += weight * squares[row + b];
      }
    }
    const x = centred[2 * i];
    const y = centred[2 * i + 1];
    repulsion[2 * i] = x * phiOne - phiX;
    repulsion[2 * i + 1] = y * phiOne - phiY;
    // Less the point's own w_ii = 1.
    z += (1 + x * x + y * y) * phiOne - 2 * (x * phiX + y * phiY) + phiSquare - 1;
  }
  return z;
}

/**
 * The interpolation objective for affinities `affinities` (see `Objective`), each gradient split
 * over the members of `team` (the calling thread alone without one).
 */
export function interpolationObjective(affinities: SparseAffinities, team?: ThreadTeam<InterpolationRequest>): TeamObjective {
  const { n } = affinities;
  const shared: SharedInterpolation = {
    centred: sharedFloat64(2 * n),
    box: new Int32Array(new SharedArrayBuffer(8 * n)),
    weights: sharedFloat64(2 * NODES_PER_BOX * n),
    repulsion: sharedFloat64(2 * n),
    attraction: sharedAttraction(affinities),
    zParts: sharedFloat64(POINT_CHUNKS),
    parameters: sharedFloat64(PARAMETER_SLOTS),
    grids: { capacity: 0, memory: sharedWasmMemory(0) },
    control: new Int32Array(0),
  };
  const own = new InterpolationShare(affinities, shared);
  let lockstep: Lockstep | undefined;
  /** (Re)starts the helpers on grids of `capacity`: they cannot take new memory while serving rounds. */
  const startRounds = (capacity: number) => {
    lockstep?.stop();
    shared.grids = { capacity, memory: sharedWasmMemory(new GridViews(undefined, capacity).bytes) };
    shared.control = lockstepControl();
    lockstep = startLockstep(team, { kind: 'interpolation', affinities, shared }, shared.control);
  };
  const { parameters } = shared;
  return lockstepObjective(affinities, {
    compute: (embedding, exaggeration) => {
      const { shape, boxWidth, low } = gridFor(embedding);
      const grown = shape.length > shared.grids.capacity;
      if (grown) startRounds(Math.min(MAX_FFT_LENGTH, fftLength(CAPACITY_HEADROOM * shape.length)));
      if (grown || parameters[LENGTH] !== shape.length) own.writeTwiddles(shape.length);
      const stale = grown || parameters[LENGTH] !== shape.length || parameters[BOX_WIDTH] !== boxWidth;
      own.attraction.place(embedding);
      parameters[EXAGGERATION] = exaggeration;
      parameters[LENGTH] = shape.length;
      parameters[BOXES] = shape.boxes;
      parameters[BOX_WIDTH] = boxWidth;
      parameters[KERNEL_STALE] = stale ? 1 : 0;
      parameters[LOW] = low;
      for (const round of [PLACE_ROUND, SPREAD_ROUND, CONVOLVE_ROUND, GATHER_ROUND]) {
        parameters[ROUND] = round;
        lockstep!.round(ROUND_UNITS[round], (generation) => own.compute(generation));
      }
    },
    repulsion: shared.repulsion,
    attraction: own.attraction.attraction,
    zParts: shared.zParts,
    release: () => lockstep?.stop(),
  });
}
