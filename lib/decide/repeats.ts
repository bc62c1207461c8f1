/**
 * The SLS cut under repeats: every scored layer is embedded with R t-SNE seeds. The decision is
 * the cut of the mean curve (mean SC per layer over the repeats); each repeat's own cut says how
 * sure that decision is. Pure and deterministic; lib/decide/waves.ts plans which (layer, repeat)
 * pairs to score.
 */
import { type CutDecision, decideCut, type PartialCurve } from './cutRule.js';

/**
 * The seed of repeat r: the run's own seed for r = 0 (so R = 1 is today's run and reuses its
 * embeddings), a 32-bit hash of (seed, r) above it (murmur3's finaliser), so two runs whose seeds
 * differ by one do not share repeats.
 */
export function repeatSeed(seed: number, repeat: number): number {
  if (!(Number.isInteger(repeat) && repeat >= 0)) throw new RangeError(`repeat must be a non-negative integer, got ${repeat}`);
  if (repeat === 0) return seed;
  let h = (seed ^ Math.imul(repeat, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function validateRepeats(repeats: number): void {
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new RangeError(`repeats must be a positive integer, got ${repeats}`);
}

/** `scores[layer - 1][repeat]`: SC of one layer's t-SNE under one repeat's seed; undefined until scored. */
export type RepeatScores = ReadonlyArray<ReadonlyArray<number | undefined>>;

/** An unscored grid of `layers` x `repeats`. */
export function emptyRepeatScores(layers: number, repeats: number): Array<Array<number | undefined>> {
  validateRepeats(repeats);
  return Array.from({ length: layers }, () => new Array<number | undefined>(repeats).fill(undefined));
}

/** The mean SC per layer over the repeats; undefined for a layer not scored under every repeat. */
export function meanCurve(scores: RepeatScores): Array<number | undefined> {
  return scores.map((row) =>
    row.some((score) => score === undefined) ? undefined : (row as number[]).reduce((a, b) => a + b, 0) / row.length,
  );
}

/** The sample standard deviation (n - 1) of each layer's repeats; null below two repeats or where not all are scored. */
export function spreadCurve(scores: RepeatScores): Array<number | null> {
  return scores.map((row) => {
    if (row.length < 2 || row.some((score) => score === undefined)) return null;
    const values = row as number[];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  });
}

/** Repeat r's own curve. */
export function repeatCurve(scores: RepeatScores, repeat: number): Array<number | undefined> {
  return scores.map((row) => row[repeat]);
}

export interface RepeatCuts {
  alpha: number;
  /** Blocks kept by each repeat's own curve, repeat 0 first. */
  keptBlocks: number[];
  /** How many repeats kept each number of blocks. */
  distribution: Record<number, number>;
  /** Every repeat keeps what the mean curve keeps. */
  stable: boolean;
}

export interface RepeatDecision {
  /** The decision: the cut of the mean curve, per alpha. */
  decisions: CutDecision[];
  /** Each repeat's cut and their distribution, per alpha. */
  cuts: RepeatCuts[];
  /** Every alpha stable. */
  stable: boolean;
}

/**
 * Decides every alpha on the mean curve and on each repeat's curve. Throws when a walk reaches a
 * layer not scored yet (`nextWave` returns null only once none does).
 */
export function decideRepeats(scores: RepeatScores, alphas: readonly number[]): RepeatDecision {
  const decide = (curve: PartialCurve, alpha: number): CutDecision => {
    const decision = decideCut(curve, alpha);
    if (decision === null) throw new RangeError(`the walk for alpha ${alpha} reaches a layer that is not scored`);
    return decision;
  };
  const repeats = scores[0]?.length ?? 0;
  const mean = meanCurve(scores);
  const decisions = alphas.map((alpha) => decide(mean, alpha));
  const cuts = decisions.map((decision): RepeatCuts => {
    const keptBlocks = Array.from({ length: repeats }, (_, repeat) => decide(repeatCurve(scores, repeat), decision.alpha).keptBlocks);
    const distribution: Record<number, number> = {};
    for (const kept of keptBlocks) distribution[kept] = (distribution[kept] ?? 0) + 1;
    return { alpha: decision.alpha, keptBlocks, distribution, stable: keptBlocks.every((kept) => kept === decision.keptBlocks) };
  });
  return { decisions, cuts, stable: cuts.every((cut) => cut.stable) };
}

/** The checkpoint manifest's stability line: one alpha's repeat cuts and the run's flag. */
export interface CutStability {
  repeats: number;
  seeds: number[];
  stable: boolean;
  /** Blocks kept by each repeat at this checkpoint's alpha. */
  keptBlocks: number[];
}
