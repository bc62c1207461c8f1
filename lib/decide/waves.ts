/**
 * Which layers to embed next. The SC curve is scored from the top down in waves of a few layers
 * at once (one t-SNE per CPU worker slot); the walk stops as soon as every alpha is decided, so
 * the layers under the deepest cut are never embedded.
 */
import { nextLayerNeeded, type PartialCurve } from './cutRule.js';

export interface WavePlan {
  alphas: readonly number[];
  /** Layers embedded at once. */
  waveSize: number;
  /** Score every layer (for reports and for deciding many alphas from one curve). */
  fullCurve?: boolean;
}

/** The layers of the next wave, highest first; null when the curve is scored far enough. */
export function nextWave(scores: PartialCurve, plan: WavePlan): number[] | null {
  if (!(Number.isInteger(plan.waveSize) && plan.waveSize >= 1))
    throw new RangeError(`waveSize must be a positive integer, got ${plan.waveSize}`);
  const highest = plan.fullCurve ? highestUnscored(scores) : nextLayerNeeded(scores, plan.alphas);
  if (highest === null) return null;
  const wave: number[] = [];
  for (let layer = highest; layer >= 1 && wave.length < plan.waveSize; layer--) {
    if (scores[layer - 1] === undefined) wave.push(layer);
  }
  return wave;
}

function highestUnscored(scores: PartialCurve): number | null {
  for (let layer = scores.length; layer >= 1; layer--) if (scores[layer - 1] === undefined) return layer;
  return null;
}
