/**
 * Measured speed of a pruned model against its full model: the same session options, the same
 * images, runs of the two interleaved so that drift in the host's load hits both alike. Each round
 * times both models back to back and gives one ratio; the speed-up is the median of the rounds'
 * ratios, reported with their spread so that a reader sees how sure it is. The timed rounds stop at
 * a count or, after a minimum, once a budget of seconds is spent: on a large model the rounds would
 * otherwise cost more than the run they report on. The caller must run it alone on the host
 * (emit's `measureAlone`: the worker's QuietHost, lib/quietHost.ts).
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import type { ImageInput } from '../onnx/model.js';

export interface SpeedOptions {
  /** Timed rounds at most. */
  repeats?: number;
  /** Timed rounds at least, whatever they cost. */
  minRepeats?: number;
  /** Seconds of timed rounds after which no further round starts (once `minRepeats` are in). */
  budgetSeconds?: number;
  /** Untimed runs per model first. */
  warmup?: number;
  /** Hears each round done (warm-up rounds included), for progress reports. */
  onRound?: (roundsDone: number, roundsTotal: number) => void;
  /** Milliseconds from an arbitrary origin; performance.now by default (tests inject their own). */
  clock?: () => number;
}

/** How the per-round ratios spread: quartiles as numpy.percentile interpolates them (linear). */
export interface RatioSpread {
  min: number;
  q1: number;
  q3: number;
  max: number;
  /** full / pruned time of each timed round, in order. */
  rounds: number[];
}

export interface ModelSpeed {
  /** Median wall time of one image, in milliseconds. */
  latencyMs: number;
  /** Images per second over batches of the given images. */
  imagesPerSecond: number;
}

/** What bounded the timed rounds. */
export interface RoundLimits {
  maxRepeats: number;
  minRepeats: number;
  budgetSeconds: number;
}

export interface SpeedComparison {
  batch: number;
  /** Timed rounds measured. */
  repeats: number;
  /** Why the rounds stopped: `limits.maxRepeats` reached ('count'), or `limits.budgetSeconds` spent ('budget'). */
  stoppedBy: 'count' | 'budget';
  limits: RoundLimits;
  /** Seconds the timed rounds took, both models. */
  timedSeconds: number;
  full: ModelSpeed;
  pruned: ModelSpeed;
  /** Median over rounds of full / pruned single-image time. */
  latencySpeedup: number;
  latencySpread: RatioSpread;
  /** Median over rounds of full / pruned batch time (pruned throughput / full throughput). */
  throughputSpeedup: number;
  throughputSpread: RatioSpread;
}

/** The q-quantile (0..1) of values, interpolated linearly between order statistics. */
function quantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** The median of the ratios full[i] / pruned[i], and their spread. */
function roundRatios(full: number[], pruned: number[]): { median: number; spread: RatioSpread } {
  const rounds = full.map((time, round) => time / pruned[round]);
  const sorted = Float64Array.from(rounds).sort();
  return {
    median: quantile(sorted, 0.5),
    spread: { min: sorted[0], q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), max: sorted[sorted.length - 1], rounds },
  };
}

/**
 * Latency: one image at a time (the first of `images`); throughput: all of `images` as one batch.
 * A fixed-batch export is timed at its own batch size for both.
 */
export async function compareSpeed(
  full: InferenceSession,
  pruned: InferenceSession,
  input: ImageInput,
  images: Float32Array,
  options: SpeedOptions = {},
): Promise<SpeedComparison> {
  const limits: RoundLimits = {
    maxRepeats: options.repeats ?? 20,
    // A count below the default minimum is the minimum too.
    minRepeats: Math.min(options.minRepeats ?? 5, options.repeats ?? 20),
    budgetSeconds: options.budgetSeconds ?? 30,
  };
  for (const [name, count] of Object.entries({ repeats: limits.maxRepeats, minRepeats: limits.minRepeats })) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`speed: ${name} must be a positive integer, got ${count}`);
  }
  if (!Number.isFinite(limits.budgetSeconds) || limits.budgetSeconds < 0) {
    throw new RangeError(`speed: budgetSeconds must be a finite number >= 0, got ${limits.budgetSeconds}`);
  }
  const now = options.clock ?? (() => performance.now());
  const warmup = options.warmup ?? 3;
  const perImage = input.channels * input.height * input.width;
  const batch = input.fixedBatch ?? images.length / perImage;
  const single = input.fixedBatch ?? 1;
  const tensor = (rows: number) =>
    new Tensor('float32', images.subarray(0, rows * perImage), [rows, input.channels, input.height, input.width]);
  const feeds = { one: { [input.name]: tensor(single) }, batch: { [input.name]: tensor(batch) } };
  const sessions = [full, pruned];
  const latency: number[][] = [[], []];
  const batchTime: number[][] = [[], []];
  let timedMs = 0;
  let repeats = 0;
  for (let round = -warmup; round < limits.maxRepeats; round++) {
    if (round >= limits.minRepeats && timedMs >= limits.budgetSeconds * 1000) break;
    const roundStarted = now();
    for (const [which, session] of sessions.entries()) {
      let started = now();
      await session.run(feeds.one);
      if (round >= 0) latency[which].push(now() - started);
      started = now();
      await session.run(feeds.batch);
      if (round >= 0) batchTime[which].push(now() - started);
    }
    if (round >= 0) {
      timedMs += now() - roundStarted;
      repeats++;
    }
    options.onRound?.(round + warmup + 1, warmup + limits.maxRepeats);
  }
  const speed = (which: number): ModelSpeed => ({
    latencyMs: quantile(Float64Array.from(latency[which]).sort(), 0.5) / single,
    imagesPerSecond: (batch * repeats * 1000) / batchTime[which].reduce((sum, time) => sum + time, 0),
  });
  const latencyRatios = roundRatios(latency[0], latency[1]);
  const throughputRatios = roundRatios(batchTime[0], batchTime[1]);
  return {
    batch,
    repeats,
    stoppedBy: repeats < limits.maxRepeats ? 'budget' : 'count',
    limits,
    timedSeconds: timedMs / 1000,
    full: speed(0),
    pruned: speed(1),
    latencySpeedup: latencyRatios.median,
    latencySpread: latencyRatios.spread,
    throughputSpeedup: throughputRatios.median,
    throughputSpread: throughputRatios.spread,
  };
}
