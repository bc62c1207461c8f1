/** A helper thread of a ThreadTeam (team.ts): serves the jobs its coordinator sends. */
import { parentPort } from 'node:worker_threads';
import type { SparseAffinities } from './affinity.js';
import { type CellSearch, searchClaimedCells } from './approximateNeighbors.js';
import { BarnesHutShare, type SharedGradient } from './barnesHut.js';
import { ExactShare, type SharedExact } from './exact.js';
import { InterpolationShare, type SharedInterpolation } from './interpolation.js';
import { searchClaimedCandidates } from './knnKernel.js';
import { type RowProductsJob, workOnRowProducts } from './rowProductsKernel.js';
import { serveLockstep } from './team.js';

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
      /** Claim cells of the approximate kNN search (see approximateNeighbors.ts). */
      kind: 'cells';
      search: CellSearch;
    }
  | ({
      /** Claim blocks of the PCA's row products (see pca.ts, rowProductsKernel.ts). */
      kind: 'rowProducts';
    } & RowProductsJob)
  | {
      /** Serve Barnes-Hut gradient rounds until stopped; replies when stopped. */
      kind: 'barnesHut';
      affinities: SparseAffinities;
      shared: SharedGradient;
      angle: number;
    }
  | {
      /** Serve exact gradient rounds until stopped; replies when stopped. */
      kind: 'exact';
      affinities: SparseAffinities;
      shared: SharedExact;
    }
  | {
      /** Serve interpolation gradient rounds until stopped; replies when stopped. */
      kind: 'interpolation';
      affinities: SparseAffinities;
      shared: SharedInterpolation;
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
  } else if (request.kind === 'cells') {
    searchClaimedCells(request.search);
    port.postMessage({ id, reply: null });
  } else if (request.kind === 'rowProducts') {
    workOnRowProducts(request);
    port.postMessage({ id, reply: null });
  } else if (request.kind === 'barnesHut') {
    const share = new BarnesHutShare(request.affinities, request.shared, request.angle);
    serveLockstep(request.shared.control, (round) => share.compute(round));
    port.postMessage({ id, reply: null });
  } else if (request.kind === 'exact') {
    const share = new ExactShare(request.affinities, request.shared);
    serveLockstep(request.shared.control, (round) => share.compute(round));
    port.postMessage({ id, reply: null });
  } else {
    const share = new InterpolationShare(request.affinities, request.shared);
    serveLockstep(request.shared.control, (round) => share.compute(round));
    port.postMessage({ id, reply: null });
  }
});
