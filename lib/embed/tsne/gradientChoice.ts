/**
 * Which approximate gradient is cheaper for the embedding at hand. Barnes-Hut costs about
 * n log n whatever the embedding's extent; the FFT interpolation costs a grid whose side grows
 * with the extent (one box per unit, interpolation.ts), plus O(n). A threshold on n alone, chosen
 * on well-separated clusters, sent wide embeddings (a curve, far outliers) to grids of 1000+
 * nodes a side: 7x slower than Barnes-Hut at n = 5000. So the choice is made at every gradient
 * from n and the extent, by a cost model measured on this engine (COSTS).
 *
 * The choice depends on the embedding alone, so a run resumed from a checkpoint, or on another
 * thread count, makes the same choices as the run it repeats: results stay bit-identical.
 */
import type { SparseAffinities } from './affinity.js';
import { barnesHutObjective } from './barnesHut.js';
import type { TeamObjective } from './gradient.js';
import { embeddingSquare, gridShape, interpolationObjective } from './interpolation.js';
import type { ThreadTeam } from './team.js';
import type { TsneRequest } from './tsneTeam.js';

/**
 * Seconds per unit of work of one gradient, one thread, fitted to the times of single gradients
 * on this engine's own embeddings (clustered and curve data, n = 5000 to 20,000, snapshots at
 * iterations 250 to 1000; FFT lengths 320 to 1600): Barnes-Hut 0.09 to 0.19 us per n log2 n
 * (median 0.14, with the linearised tree walk of quadTree.ts), the FFT interpolation 9 to 12 ns
 * per L^2 log2 L of its L x L transforms plus about 0.5 us a point.
 */
export const COSTS = { barnesHutPerPoint: 0.14e-6, fftPerCell: 10e-9, fftPerPoint: 0.5e-6 };

export type ApproximateGradient = 'barnes_hut' | 'fft';

/** The modelled seconds of one gradient of each approximation, for n points on a square of side `extent`. */
export function gradientCosts(n: number, extent: number): Record<ApproximateGradient, number> {
  const { length } = gridShape(extent);
  return {
    barnes_hut: COSTS.barnesHutPerPoint * n * Math.log2(n),
    fft: COSTS.fftPerCell * length * length * Math.log2(length) + COSTS.fftPerPoint * n,
  };
}

/** The approximation the cost model finds cheaper (Barnes-Hut on a tie). */
export function cheaperGradient(n: number, extent: number): ApproximateGradient {
  const costs = gradientCosts(n, extent);
  return costs.fft < costs.barnes_hut ? 'fft' : 'barnes_hut';
}

/**
 * The objective that computes each gradient with the cheaper approximation for the embedding it
 * is given (see `Objective`). A switch releases the other approximation's helpers and sets up its
 * own; extents change slowly, so a run switches a few times at most.
 */
export function cheaperObjective(affinities: SparseAffinities, team?: ThreadTeam<TsneRequest>): TeamObjective {
  let current: { method: ApproximateGradient; gradient: TeamObjective } | undefined;
  return {
    objective: (embedding, out, exaggeration, computeError) => {
      const method = cheaperGradient(affinities.n, embeddingSquare(embedding).extent);
      if (current?.method !== method) {
        current?.gradient.release();
        current = {
          method,
          gradient: method === 'fft' ? interpolationObjective(affinities, team) : barnesHutObjective(affinities, team),
        };
      }
      return current.gradient.objective(embedding, out, exaggeration, computeError);
    },
    release: () => current?.gradient.release(),
  };
}
