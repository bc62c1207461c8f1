/**
 * The team of a t-SNE run (team.ts): what its helpers serve, one request kind per stage (the kNN
 * search, the PCA's products, each gradient's lockstep rounds), and how a helper serves each.
 * The helpers run teamThread.ts, which hands every request to serveTsneRequest.
 */
import { siblingModule } from '../../threads.js';
import { type CellsRequest, searchClaimedCells } from './approximateNeighbors.js';
import { type BarnesHutRequest, BarnesHutShare } from './barnesHut.js';
import { type ExactRequest, ExactShare } from './exact.js';
import { type InterpolationRequest, InterpolationShare } from './interpolation.js';
import { searchClaimedCandidates } from './knnKernel.js';
import type { CandidatesRequest } from './neighbors.js';
import type { RowProductsRequest } from './pca.js';
import { workOnRowProducts } from './rowProductsKernel.js';
import { type HelperReply, serveLockstep, ThreadTeam } from './team.js';

export type TsneRequest = CandidatesRequest | CellsRequest | RowProductsRequest | BarnesHutRequest | ExactRequest | InterpolationRequest;

/** A team of `threads` members (the caller and threads - 1 helpers) for one t-SNE run. */
export function startTsneTeam(threads: number): ThreadTeam<TsneRequest> {
  return ThreadTeam.start<TsneRequest>(threads, siblingModule(import.meta.url, 'teamThread'));
}

/** A helper's handling of one request. */
export function serveTsneRequest(request: TsneRequest): HelperReply {
  if (request.kind === 'candidates') {
    const { features, n, d, capacity, next } = request;
    const claimed = searchClaimedCandidates(features, n, d, capacity, next);
    const { distance, index, size } = claimed.candidates;
    return { reply: claimed, transfer: [distance.buffer, index.buffer, size.buffer] };
  }
  if (request.kind === 'cells') searchClaimedCells(request.search);
  else if (request.kind === 'rowProducts') workOnRowProducts(request);
  else {
    const share =
      request.kind === 'barnesHut'
        ? new BarnesHutShare(request.affinities, request.shared, request.angle)
        : request.kind === 'exact'
          ? new ExactShare(request.affinities, request.shared)
          : new InterpolationShare(request.affinities, request.shared);
    serveLockstep(request.shared.control, (round) => share.compute(round));
  }
  return { reply: null };
}
