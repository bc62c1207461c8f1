/**
 * Measured speed of a pruned model against its full model: the same session options, the same
 * images, runs of the two interleaved so that drift in the host's load hits both alike.
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import type { ImageInput } from '../onnx/model.js';

export interface SpeedOptions {
  /** Timed runs per model and measure. */
  repeats?: number;
  /** Untimed runs per model first. */
  warmup?: number;
  /** Hears each round done (warm-up rounds included), for progress reports. */
  onRound?: (roundsDone: number, roundsTotal: number) => void;
}

export interface ModelSpeed {
  /** Median wall time of one image, in milliseconds. */
  latencyMs: number;
  /** Images per second over batches of the given images. */
  imagesPerSecond: number;
}

export interface SpeedComparison {
  batch: number;
  repeats: number;
  full: ModelSpeed;
  pruned: ModelSpeed;
  /** full latency / pruned latency. */
  latencySpeedup: number;
  /** pruned throughput / full throughput. */
  throughputSpeedup: number;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
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
  const repeats = options.repeats ?? 20;
  const warmup = options.warmup ?? 3;
  const perImage = input.channels * input.height * input.width;
  const batch = input.fixedBatch ?? images.length / perImage;
  const single = input.fixedBatch ?? 1;
  const tensor = (rows: number) =>
    new Tensor('float32', images.subarray(0, rows * perImage), [rows, input.channels, input.height, input.width]);
  const feeds = { one: { [input.name]: tensor(single) }, batch: { [input.name]: tensor(batch) } };
  const sessions = [full, pruned];
  const latency = [new Float64Array(repeats), new Float64Array(repeats)];
  const batchSeconds = [0, 0];
  for (let round = -warmup; round < repeats; round++) {
    for (const [which, session] of sessions.entries()) {
      let started = performance.now();
      await session.run(feeds.one);
      if (round >= 0) latency[which][round] = performance.now() - started;
      started = performance.now();
      await session.run(feeds.batch);
      if (round >= 0) batchSeconds[which] += (performance.now() - started) / 1000;
    }
    options.onRound?.(round + warmup + 1, warmup + repeats);
  }
  const speed = (which: number): ModelSpeed => ({
    latencyMs: median(latency[which]) / single,
    imagesPerSecond: (batch * repeats) / batchSeconds[which],
  });
  const [fullSpeed, prunedSpeed] = [speed(0), speed(1)];
  return {
    batch,
    repeats,
    full: fullSpeed,
    pruned: prunedSpeed,
    latencySpeedup: fullSpeed.latencyMs / prunedSpeed.latencyMs,
    throughputSpeedup: prunedSpeed.imagesPerSecond / fullSpeed.imagesPerSecond,
  };
}
