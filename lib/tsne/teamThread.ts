/** A helper thread of a ThreadTeam (team.ts): serves the jobs its coordinator sends. */
import { parentPort } from 'node:worker_threads';
import type { SparseAffinities } from './affinity.js';
import { BarnesHutShare, type SharedGradient } from './barnesHut.js';
import { searchClaimedCandidates } from './knnKernel.js';
import { rowProductsBlock, rowProductUnits } from './pca.js';
import { serveLockstep, workOnClaims } from './team.js';

export type HelperRequest =
  | {
      kind: 'candidates';
      features: Float32Array;
      n: number;
      d: number;
      capacity: number;
      /** Shared counter of the tile pairs claimed so far (see searchClaimedCandidates). */
      next: Int32Array;
    }
  | {
      /** Claim blocks of the PCA's row products (see pca.ts). */
      kind: 'rowProducts';
      rows: Float64Array;
      m: number;
      length: number;
      products: Float64Array;
      counter: Int32Array;
    }
  | {
      /** Serve Barnes-Hut gradient rounds until stopped; replies when stopped. */
      kind: 'barnesHut';
      affinities: SparseAffinities;
      shared: SharedGradient;
      angle: number;
    };

/** A request as it travels: with the id its reply carries back. */
export interface Envelope {
  id: number;
  request: HelperRequest;
}

const port = parentPort!;
port.on('message', ({ id, request }: Envelope) => {
  if (request.kind === 'candidates') {
    const { features, n, d, capacity, next } = request;
    const claimed = searchClaimedCandidates(features, n, d, capacity, next);
    const { distance, index, size } = claimed.candidates;
    port.postMessage({ id, reply: claimed }, [distance.buffer, index.buffer, size.buffer]);
  } else if (request.kind === 'rowProducts') {
    const { rows, m, length, products, counter } = request;
    workOnClaims(counter, rowProductUnits(m), (block) => rowProductsBlock(rows, m, length, block, products));
    port.postMessage({ id, reply: null });
  } else {
    const share = new BarnesHutShare(request.affinities, request.shared, request.angle);
    serveLockstep(request.shared.control, (round) => share.compute(round));
    port.postMessage({ id, reply: null });
  }
});
