import { InputError } from '../errors.js';

/**
 * A layer's SLS score as it enters the cut rule: a silhouette, so a finite number in [-1, 1].
 * Anything else (NaN and the infinities arrive as null once JSON carried them) would make the
 * rule throw inside the workflow, whose task Temporal then retries forever; this names the layer
 * and the embedding it was scored from instead.
 */
export function checkedScore(score: unknown, layer: number, embeddingFile: string): number {
  if (typeof score !== 'number' || !(score >= -1 && score <= 1)) {
    throw new InputError(embeddingFile, `the score of layer ${layer} is ${String(score)}, not a silhouette in [-1, 1]`);
  }
  return score;
}
