import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compareSpeed } from '../../../lib/emit/speed.js';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import { openModelInputs, readImages } from '../../../lib/onnx/inference.js';
import { loadModel } from '../../../lib/onnx/model.js';
import { createSession } from '../../../lib/onnx/session.js';
import { truncateBlocks } from '../../../lib/onnx/surgery.js';
import { MODEL, TEST_SPLIT } from '../../helpers/fixtures.js';

describe('compareSpeed', () => {
  it('measures one block of six as faster than the whole model, on the same images', async () => {
    const model = await loadModel(MODEL);
    const inputs = await openModelInputs(model, MODEL, TEST_SPLIT);
    const images = await readImages(inputs, 0, 32);
    const full = await createSession(model, 'cpu', MODEL);
    const pruned = await createSession(truncateBlocks(model, findBlocks(model, MODEL), 1), 'cpu', MODEL);
    const rounds: Array<[number, number]> = [];
    const speed = await compareSpeed(full, pruned, inputs.input, images, {
      // All 30 rounds, however loaded the host: the budget never stops them.
      repeats: 30,
      minRepeats: 30,
      onRound: (done, total) => rounds.push([done, total]),
    });
    await Promise.all([full.release(), pruned.release()]);
    expect(speed).toMatchObject({ batch: 32, repeats: 30, stoppedBy: 'count' });
    // Every round reported, the 3 warm-up rounds and the 30 timed ones, in order.
    expect(rounds).toEqual(Array.from({ length: 33 }, (_, index) => [index + 1, 33]));
    expect(speed.latencySpread.rounds).toHaveLength(30);
    expect(speed.latencySpread.min).toBeLessThanOrEqual(speed.latencySpeedup);
    expect(speed.latencySpread.max).toBeGreaterThanOrEqual(speed.latencySpeedup);
    // Six blocks against one do about 4.7 times the multiply-adds (flops.test.ts); the timed ratio
    // is lower (fixed costs per run) but well above 1 even on a loaded host.
    expect(speed.throughputSpeedup).toBeGreaterThan(1.5);
  });
});

/** A session whose runs take the given milliseconds on a fake clock: single images and batches from their own queues. */
function timedSession(clock: { now: number }, singles: number[], batches: number[]): InferenceSession {
  return {
    run: async (feeds: Record<string, Tensor>) => {
      clock.now += (feeds.pixels.dims[0] === 1 ? singles : batches).shift() as number;
      return {};
    },
  } as unknown as InferenceSession;
}

describe('compareSpeed on given round times', () => {
  it('takes the median and quartiles of the per-round ratios, leaving out the warm-up', async () => {
    const clock = { now: 0 };
    // One warm-up round (1000 ms, which would skew every figure if counted), then three timed rounds.
    const full = timedSession(clock, [1000, 10, 12, 30], [1000, 100, 90, 80]);
    const pruned = timedSession(clock, [1000, 5, 4, 10], [1000, 50, 60, 20]);
    const input = { name: 'pixels', fixedBatch: null, channels: 3, height: 2, width: 2 };
    const speed = await compareSpeed(full, pruned, input, new Float32Array(4 * 12), {
      repeats: 3,
      warmup: 1,
      clock: () => clock.now,
    });
    // Latency ratios 10/5, 12/4, 30/10 = 2, 3, 3; batch ratios 100/50, 90/60, 80/20 = 2, 1.5, 4.
    // Quartiles by linear interpolation (numpy.percentile): [2, 3, 3] -> 2.5, 3, 3; [1.5, 2, 4] -> 1.75, 2, 3.
    expect(speed).toEqual({
      batch: 4,
      repeats: 3,
      stoppedBy: 'count',
      limits: { maxRepeats: 3, minRepeats: 3, budgetSeconds: 30 },
      // The three timed rounds: 10 + 100 + 5 + 50, 12 + 90 + 4 + 60, 30 + 80 + 10 + 20 ms.
      timedSeconds: 0.471,
      full: { latencyMs: 12, imagesPerSecond: (4 * 3 * 1000) / 270 },
      pruned: { latencyMs: 5, imagesPerSecond: (4 * 3 * 1000) / 130 },
      latencySpeedup: 3,
      latencySpread: { min: 2, q1: 2.5, q3: 3, max: 3, rounds: [2, 3, 3] },
      throughputSpeedup: 2,
      throughputSpread: { min: 1.5, q1: 1.75, q3: 3, max: 4, rounds: [2, 1.5, 4] },
    });
  });
});

/** A session whose every run of one image takes `singleMs` and of a batch `batchMs` on a fake clock. */
function steadySession(clock: { now: number }, singleMs: number, batchMs: number): InferenceSession {
  return {
    run: async (feeds: Record<string, Tensor>) => {
      clock.now += feeds.pixels.dims[0] === 1 ? singleMs : batchMs;
      return {};
    },
  } as unknown as InferenceSession;
}

describe('compareSpeed within a time budget', () => {
  // Each round: full 100 + 200 ms, pruned 50 + 100 ms, 450 ms in all; one warm-up round, not counted.
  const measure = async (budgetSeconds: number, minRepeats: number) => {
    const clock = { now: 0 };
    const reports: number[][] = [];
    const input = { name: 'pixels', fixedBatch: null, channels: 3, height: 2, width: 2 };
    const speed = await compareSpeed(steadySession(clock, 100, 200), steadySession(clock, 50, 100), input, new Float32Array(4 * 12), {
      repeats: 10,
      minRepeats,
      budgetSeconds,
      warmup: 1,
      clock: () => clock.now,
      onRound: (done, total) => reports.push([done, total]),
    });
    return { speed, reports };
  };

  it('starts no round once the budget is spent', async () => {
    // After 2 rounds 900 ms < 1 s, so a third starts; after it 1,350 ms: no fourth.
    const { speed, reports } = await measure(1, 2);
    expect(speed).toMatchObject({
      repeats: 3,
      stoppedBy: 'budget',
      limits: { maxRepeats: 10, minRepeats: 2, budgetSeconds: 1 },
      timedSeconds: 1.35,
      latencySpeedup: 2,
      throughputSpeedup: 2,
    });
    expect(speed.latencySpread.rounds).toEqual([2, 2, 2]);
    // The warm-up round and three timed ones, each out of the 11 it might have taken.
    expect(reports).toEqual([1, 2, 3, 4].map((done) => [done, 11]));
    // A budget of exactly two rounds is spent after them.
    expect((await measure(0.9, 2)).speed).toMatchObject({ repeats: 2, stoppedBy: 'budget', timedSeconds: 0.9 });
  });

  it('takes the minimum of rounds however long they take, and the count when the budget allows', async () => {
    expect((await measure(0.1, 4)).speed).toMatchObject({ repeats: 4, stoppedBy: 'budget', timedSeconds: 1.8 });
    expect((await measure(100, 4)).speed).toMatchObject({ repeats: 10, stoppedBy: 'count', timedSeconds: 4.5 });
    // All the rounds are the minimum: stopped by the count, whatever the budget.
    expect((await measure(0, 10)).speed).toMatchObject({ repeats: 10, stoppedBy: 'count' });
  });

  it('refuses limits that measure nothing', async () => {
    await expect(measure(-1, 2)).rejects.toThrow(/budgetSeconds/);
    await expect(measure(1, 0)).rejects.toThrow(/minRepeats/);
  });
});
