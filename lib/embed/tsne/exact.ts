/**
 * The exact O(n^2) t-SNE gradient (gradient.ts gives the formula), for the smaller runs where it
 * is faster than Barnes-Hut: the repulsion of every pair in a WebAssembly SIMD kernel
 * (wasm/exactRepulsion.ts), two pairs per instruction, rows split over a team's threads.
 *
 * Threads: the rows are cut into ROW_CHUNKS fixed chunks, claimed in lockstep rounds (team.ts);
 * each row's sums run over every column in a fixed order and the chunks' shares of Z are added in
 * chunk order, so the gradient is bit-identical whatever the thread count. (Each pair is thus
 * measured twice, once from each end: the price of rows that need no other thread's results.)
 */
import { sharedWasmMemory, WASM_DATA_START, wasmModule } from '../../wasmModules.js';
import type { SparseAffinities } from './affinity.js';
import { AttractionKernel, type SharedAttraction, sharedAttraction } from './attraction.js';
import { chunkStart, lockstepObjective, type TeamObjective } from './gradient.js';
import { claimUnit, finishUnit, lockstepControl, sharedFloat64, startLockstep, type ThreadTeam } from './team.js';

/** Fixed number of row chunks a gradient is split into, whatever the thread count. */
const ROW_CHUNKS = 32;
/** Padding coordinate: its kernel value 1 / (1 + d^2) is 0 in float64 for any embedding point. */
const FAR_AWAY = 1e160;

/** What the members of a team share for the gradients. */
export interface SharedExact {
  /** The kernel's memory: x and y (padded), repulsion (n x 2) and per-row Z (see ExactViews). */
  memory: WebAssembly.Memory;
  attraction: SharedAttraction;
  /** Per chunk: its rows' share of Z. */
  zParts: Float64Array;
  /** [exaggeration] */
  parameters: Float64Array;
  control: Int32Array;
}

/** A helper's part of the exact gradients: serve rounds until stopped (replies when stopped). */
export interface ExactRequest {
  kind: 'exact';
  affinities: SparseAffinities;
  shared: SharedExact;
}

/** The kernel's arrays in its memory, for n points. */
class ExactViews {
  readonly paddedCount: number;
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  readonly repulsion: Float64Array;
  readonly rowZ: Float64Array;
  readonly bytes: number;

  constructor(memory: WebAssembly.Memory | undefined, n: number) {
    this.paddedCount = n + (n % 2);
    let at = WASM_DATA_START;
    const take = (values: number) => {
      const view = memory ? new Float64Array(memory.buffer, at, values) : new Float64Array(0);
      at += 8 * values;
      return view;
    };
    this.xs = take(this.paddedCount);
    this.ys = take(this.paddedCount);
    this.repulsion = take(2 * n);
    this.rowZ = take(n);
    this.bytes = at - WASM_DATA_START;
  }
}

interface KernelExports {
  repulsionRows(xs: number, ys: number, paddedCount: number, start: number, end: number, repulsion: number, rowZ: number): void;
}

/** One member's part of every gradient: the row chunks it claims. */
export class ExactShare {
  private readonly views: ExactViews;
  private readonly kernel: KernelExports;
  readonly attraction: AttractionKernel;

  constructor(
    private readonly affinities: SparseAffinities,
    private readonly shared: SharedExact,
  ) {
    this.views = new ExactViews(shared.memory, affinities.n);
    this.attraction = new AttractionKernel(shared.attraction);
    this.kernel = new WebAssembly.Instance(wasmModule('exactRepulsion'), { env: { memory: shared.memory } })
      .exports as unknown as KernelExports;
  }

  compute(round: number): void {
    const { n } = this.affinities;
    const { xs, ys, paddedCount, repulsion, rowZ } = this.views;
    const { zParts, parameters, control } = this.shared;
    for (let chunk = claimUnit(control, round, ROW_CHUNKS); chunk >= 0; chunk = claimUnit(control, round, ROW_CHUNKS)) {
      const start = chunkStart(chunk, n, ROW_CHUNKS);
      const end = chunkStart(chunk + 1, n, ROW_CHUNKS);
      this.kernel.repulsionRows(xs.byteOffset, ys.byteOffset, paddedCount, start, end, repulsion.byteOffset, rowZ.byteOffset);
      let z = 0;
      // Less each point's own w_ii = 1.
      for (let i = start; i < end; i++) z += rowZ[i] - 1;
      zParts[chunk] = z;
      this.attraction.rows(start, end, parameters[0]);
      finishUnit(control);
    }
  }

  /** The coordinator's part before a gradient: the embedding into the kernel's memory. */
  place(embedding: Float64Array): void {
    const { xs, ys } = this.views;
    const n = this.affinities.n;
    for (let i = 0; i < n; i++) {
      xs[i] = embedding[2 * i];
      ys[i] = embedding[2 * i + 1];
    }
    if (n % 2 === 1) {
      xs[n] = FAR_AWAY;
      ys[n] = FAR_AWAY;
    }
    this.attraction.place(embedding);
  }

  get repulsion(): Float64Array {
    return this.views.repulsion;
  }
}

/**
 * The exact objective for affinities `affinities` (see `Objective`), each gradient split over the
 * members of `team` (the calling thread alone without one).
 */
export function exactObjective(affinities: SparseAffinities, team?: ThreadTeam<ExactRequest>): TeamObjective {
  const { n } = affinities;
  const shared: SharedExact = {
    memory: sharedWasmMemory(new ExactViews(undefined, n).bytes),
    attraction: sharedAttraction(affinities),
    zParts: sharedFloat64(ROW_CHUNKS),
    parameters: sharedFloat64(1),
    control: lockstepControl(),
  };
  const own = new ExactShare(affinities, shared);
  const lockstep = startLockstep(team, { kind: 'exact', affinities, shared }, shared.control);
  return lockstepObjective(affinities, {
    compute: (embedding, exaggeration) => {
      own.place(embedding);
      shared.parameters[0] = exaggeration;
      lockstep.round(ROW_CHUNKS, (round) => own.compute(round));
    },
    repulsion: own.repulsion,
    attraction: own.attraction.attraction,
    zParts: shared.zParts,
    release: () => lockstep.stop(),
  });
}
