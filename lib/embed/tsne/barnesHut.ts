/**
 * The Barnes-Hut approximation of the t-SNE gradient, as scikit-learn's `_barnes_hut_tsne`: the
 * repulsion from far quadtree cells (quadTree.ts) is taken from their centres of mass, so each
 * gradient costs O(n log n) instead of O(n^2). The attraction over the sparse P stays exact.
 *
 * Threads: the points, in space-filling-curve order, are cut into GRADIENT_CHUNKS fixed chunks;
 * each member of a team builds its own copy of the tree and claims chunks until none is left.
 * Each point's sums and each chunk's share of Z are computed in a fixed order, and the chunks'
 * shares are added in chunk order, so the gradient is bit-identical whatever the thread count.
 */
import type { SparseAffinities } from './affinity.js';
import { AttractionKernel, type SharedAttraction, sharedAttraction } from './attraction.js';
import { chunkStart, lockstepObjective, type TeamObjective } from './gradient.js';
import { MAX_ANGLE, QuadTree, SpatialOrder } from './quadTree.js';
import { claimUnit, finishUnit, lockstepControl, sharedFloat64, startLockstep, type ThreadTeam } from './team.js';

/** scikit-learn's default angle (theta). */
export const DEFAULT_ANGLE = 0.5;

/** Fixed number of point chunks a gradient is split into, whatever the thread count. */
export const GRADIENT_CHUNKS = 32;

/** What the members of a team share for one Barnes-Hut gradient (all on SharedArrayBuffers). */
export interface SharedGradient {
  /** n x 2, per point: the unnormalised repulsion (see QuadTree.repulsion). */
  repulsion: Float64Array;
  attraction: SharedAttraction;
  /** Per chunk: its points' share of Z. */
  zParts: Float64Array;
  /** [exaggeration] */
  parameters: Float64Array;
  control: Int32Array;
}

/** A helper's part of the Barnes-Hut gradients: serve rounds until stopped (replies when stopped). */
export interface BarnesHutRequest {
  kind: 'barnesHut';
  affinities: SparseAffinities;
  shared: SharedGradient;
  angle: number;
}

/** One member's part of every gradient: the repulsion, attraction and share of Z of the chunks it claims. */
export class BarnesHutShare {
  private readonly tree: QuadTree;
  private readonly order: Int32Array;
  private readonly spatialOrder: SpatialOrder;
  private readonly squaredAngle: number;
  readonly attraction: AttractionKernel;

  constructor(
    private readonly affinities: SparseAffinities,
    private readonly shared: SharedGradient,
    angle: number,
  ) {
    const { n } = affinities;
    this.tree = new QuadTree(n);
    this.order = new Int32Array(n);
    this.spatialOrder = new SpatialOrder(n);
    this.squaredAngle = angle * angle;
    this.attraction = new AttractionKernel(shared.attraction);
  }

  compute(round: number): void {
    const { n } = this.affinities;
    const { repulsion, zParts, parameters, control } = this.shared;
    const { embedding } = this.attraction;
    const { order, tree } = this;
    // Visiting points in space-filling-curve order makes consecutive traversals walk nearly the
    // same cells: about twice as fast as index order at n = 5000.
    this.spatialOrder.fill(embedding, n, order);
    tree.build(embedding, n, order);
    for (let chunk = claimUnit(control, round, GRADIENT_CHUNKS); chunk >= 0; chunk = claimUnit(control, round, GRADIENT_CHUNKS)) {
      let z = 0;
      const end = chunkStart(chunk + 1, n, GRADIENT_CHUNKS);
      for (let k = chunkStart(chunk, n, GRADIENT_CHUNKS); k < end; k++) {
        const i = order[k];
        z += tree.repulsion(embedding[2 * i], embedding[2 * i + 1], this.squaredAngle, repulsion, 2 * i);
      }
      zParts[chunk] = z;
      // The attraction of the chunk's index range (not its spatial one): every point once either way.
      this.attraction.rows(chunkStart(chunk, n, GRADIENT_CHUNKS), end, parameters[0]);
      finishUnit(control);
    }
  }
}

/**
 * The Barnes-Hut objective for affinities `affinities` (see `Objective`), each gradient split
 * over the members of `team` (the calling thread alone without one).
 */
export function barnesHutObjective(
  affinities: SparseAffinities,
  team?: ThreadTeam<BarnesHutRequest>,
  angle = DEFAULT_ANGLE,
): TeamObjective {
  if (!(angle > 0 && angle <= MAX_ANGLE)) throw new RangeError(`Barnes-Hut angle must be in (0, ${MAX_ANGLE}], got ${angle}`);
  const { n } = affinities;
  const shared: SharedGradient = {
    repulsion: sharedFloat64(2 * n),
    attraction: sharedAttraction(affinities),
    zParts: sharedFloat64(GRADIENT_CHUNKS),
    parameters: sharedFloat64(1),
    control: lockstepControl(),
  };
  const own = new BarnesHutShare(affinities, shared, angle);
  const lockstep = startLockstep(team, { kind: 'barnesHut', affinities, shared, angle }, shared.control);
  return lockstepObjective(affinities, {
    compute: (embedding, exaggeration) => {
      own.attraction.place(embedding);
      shared.parameters[0] = exaggeration;
      lockstep.round(GRADIENT_CHUNKS, (round) => own.compute(round));
    },
    repulsion: shared.repulsion,
    attraction: own.attraction.attraction,
    zParts: shared.zParts,
    release: () => lockstep.stop(),
  });
}
