/**
 * Which (layer, repeat) pairs to embed next. The SC curve is scored from the top down in waves of
 * a few pairs at once (one t-SNE per CPU worker slot); the walks stop as soon as every alpha is
 * decided, so the layers under the deepest cut are never embedded.
 *
 * Under repeats (lib/decide/repeats.ts) two kinds of walk run: the mean curve's, which needs every
 * repeat of each layer down to the mean curve's first failure, and each repeat's own, which needs
 * that repeat down to its own failure (its cut says how sure the decision is). Nothing is skipped
 * because a layer "looks far from T": SC's only bound is [-1, 1], so with one repeat missing the
 * mean is undetermined at any useful T, and a statistical guess could change the mean-curve
 * decision. The mean curve's walk is therefore exact.
 */
import { nextLayerNeeded } from './cutRule.js';
import { meanCurve, type RepeatScores, repeatCurve } from './repeats.js';

export interface ScorePair {
  layer: number;
  repeat: number;
}

export interface WavePlan {
  alphas: readonly number[];
  /** (layer, repeat) pairs embedded at once. */
  waveSize: number;
  /** Score every layer under every repeat (for reports and for deciding many alphas from one curve). */
  fullCurve?: boolean;
}

/**
 * The pairs of the next wave, null when every alpha is decided on the mean curve and on each
 * repeat's curve. First the pairs a walk needs now (highest layer first, then repeat), then, to
 * fill the wave, the unscored pairs under the walks still going (the layers they may need next).
 * With one repeat this is the single-seed walk of the paper.
 */
export function nextWave(scores: RepeatScores, plan: WavePlan): ScorePair[] | null {
  if (!(Number.isInteger(plan.waveSize) && plan.waveSize >= 1))
    throw new RangeError(`waveSize must be a positive integer, got ${plan.waveSize}`);
  const repeats = scores[0]?.length ?? 0;
  const unscored = (pair: ScorePair) => scores[pair.layer - 1][pair.repeat] === undefined;
  // Top layer first, then repeat 0 first: the order pairs are scored in.
  const allPairs: ScorePair[] = [];
  for (let layer = scores.length; layer >= 1; layer--) for (let repeat = 0; repeat < repeats; repeat++) allPairs.push({ layer, repeat });

  if (plan.fullCurve) {
    const wave = allPairs.filter(unscored).slice(0, plan.waveSize);
    return wave.length === 0 ? null : wave;
  }
  // Each walk still going: the layer it needs next and the repeats it reads there.
  const everyRepeat = Array.from({ length: repeats }, (_, repeat) => repeat);
  const walks = [
    { next: nextLayerNeeded(meanCurve(scores), plan.alphas), repeats: everyRepeat },
    ...everyRepeat.map((repeat) => ({ next: nextLayerNeeded(repeatCurve(scores, repeat), plan.alphas), repeats: [repeat] })),
  ].filter((walk): walk is { next: number; repeats: number[] } => walk.next !== null);
  if (walks.length === 0) return null;

  const neededNow = (pair: ScorePair) => walks.some((walk) => pair.layer === walk.next && walk.repeats.includes(pair.repeat));
  const neededLater = (pair: ScorePair) => walks.some((walk) => pair.layer < walk.next && walk.repeats.includes(pair.repeat));
  const open = allPairs.filter(unscored);
  return [...open.filter(neededNow), ...open.filter((pair) => !neededNow(pair) && neededLater(pair))].slice(0, plan.waveSize);
}
