/**
 * The SLS cut rule (DESIGN.md section 1, step 4). Pure and deterministic: workflows call it
 * directly to decide when the top-down scoring waves can stop.
 */

export interface CutDecision {
  alpha: number;
  /** alpha * SC_N. */
  threshold: number;
  /** Blocks kept: 1..keptBlocks survive, the rest are pruned. */
  keptBlocks: number;
  /** The layer whose score fell under the threshold, or null when none did (or the rule is undefined). */
  failedLayer: number | null;
  /** Why the rule kept what it kept, in words for the manifest and the UI. */
  reason: string;
}

/**
 * A partial SC curve scored from the top down: `scores[i - 1]` is SC_i for i > lowestScored,
 * `undefined` below. The rule needs SC_N and SC_{N-1}, SC_{N-2}, ... down to the first failure.
 */
export type PartialCurve = ReadonlyArray<number | undefined>;

export function validateAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha <= 1)) {
    throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  }
}

/**
 * Decides one alpha from a (possibly partial) curve of N scores. Returns null when the walk
 * reaches a layer that has not been scored yet: the caller must score lower layers first.
 */
export function decideCut(scores: PartialCurve, alpha: number): CutDecision | null {
  validateAlpha(alpha);
  const layers = scores.length;
  if (layers < 1) throw new RangeError('the SC curve is empty');
  const top = scores[layers - 1];
  if (top === undefined || !Number.isFinite(top)) {
    throw new RangeError(`SC_${layers} (the top layer's score) is missing or not finite`);
  }
  const threshold = alpha * top;
  if (top <= 0) {
    return {
      alpha,
      threshold,
      keptBlocks: layers,
      failedLayer: null,
      reason: `SC_${layers} = ${top} <= 0: the rule is undefined, all ${layers} blocks are kept`,
    };
  }
  for (let layer = layers - 1; layer >= 1; layer--) {
    const score = scores[layer - 1];
    if (score === undefined) return null;
    if (score < threshold) {
      return {
        alpha,
        threshold,
        keptBlocks: layer + 1,
        failedLayer: layer,
        reason: `SC_${layer} = ${score} < T = ${threshold}: blocks 1..${layer + 1} kept`,
      };
    }
  }
  return {
    alpha,
    threshold,
    keptBlocks: 1,
    failedLayer: null,
    reason: `no layer below SC_${layers} falls under T = ${threshold}: block 1 kept`,
  };
}

/** Decides every alpha on a complete curve. */
export function decideCuts(scores: readonly number[], alphas: readonly number[]): CutDecision[] {
  return alphas.map((alpha) => {
    const decision = decideCut(scores, alpha);
    // A complete curve always decides; null would mean a hole in it.
    if (decision === null) throw new RangeError('the SC curve has a missing score');
    return decision;
  });
}

/**
 * The highest layer not yet scored that the walk for some alpha still needs, given a curve
 * scored from the top down; null when every alpha is decided. Drives the workflow's waves.
 */
export function nextLayerNeeded(scores: PartialCurve, alphas: readonly number[]): number | null {
  const layers = scores.length;
  if (scores[layers - 1] === undefined) return layers;
  if (alphas.every((alpha) => decideCut(scores, alpha) !== null)) return null;
  let lowestScored = layers;
  while (lowestScored > 1 && scores[lowestScored - 2] !== undefined) lowestScored--;
  return lowestScored - 1;
}
