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
      repeats: 30,
      onRound: (done, total) => rounds.push([done, total]),
    });
    await Promise.all([full.release(), pruned.release()]);
    expect(speed).toMatchObject({ batch: 32, repeats: 30 });
    // Every round reported, the 3 warm-up rounds and the 30 timed ones, in order.
    expect(rounds).toEqual(Array.from({ length: 33 }, (_, index) => [index + 1, 33]));
    expect(speed.latencySpeedup).toBeCloseTo(speed.full.latencyMs / speed.pruned.latencyMs, 12);
    expect(speed.throughputSpeedup).toBeCloseTo(speed.pruned.imagesPerSecond / speed.full.imagesPerSecond, 12);
    // Six blocks against one do about 4.7 times the multiply-adds (flops.test.ts); the timed ratio
    // is lower (fixed costs per run) but well above 1 even on a loaded host.
    expect(speed.throughputSpeedup).toBeGreaterThan(1.5);
  });
});
