import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readArrowTable, readFloatRows } from '../../lib/arrowTensors.js';
import { decideCut } from '../../lib/cutRule.js';
import { CHECKPOINT_FILE, emitCheckpoint, MANIFEST_FILE } from '../../lib/emit.js';
import { MODEL, maxAbsDiff, REFERENCE, TRAIN, temporaryDir } from '../helpers/fixtures.js';

describe('emitCheckpoint', () => {
  it('writes a runnable pruned checkpoint and a manifest of the cut', async () => {
    // SC_2 < 0.3 * 0.5 and SC_3..SC_5 above: keep 3 blocks, as the PyTorch reference pruned.
    const scores = [0.05, 0.1, 0.3, 0.4, 0.45, 0.5];
    const decision = decideCut(scores, 0.3);
    expect(decision?.keptBlocks).toBe(REFERENCE.truncated_k);
    const out = temporaryDir();
    const manifest = await emitCheckpoint(MODEL, out, decision!, scores);

    const written = JSON.parse(await readFile(join(out, MANIFEST_FILE), 'utf8'));
    expect(written).toEqual(manifest);
    expect(manifest).toMatchObject({
      blocks: 6,
      keptBlocks: 3,
      alpha: 0.3,
      threshold: 0.3 * 0.5,
      scores,
      head: 'original',
      checkpoint: CHECKPOINT_FILE,
    });
    expect(manifest.parametersKept).toBeLessThan(manifest.parametersTotal);

    const session = await InferenceSession.create(join(out, CHECKPOINT_FILE));
    const { values } = readFloatRows(await readArrowTable(TRAIN), 'pixels', TRAIN);
    const input = new Tensor('float32', values.slice(0, REFERENCE.rows * 768), [REFERENCE.rows, 3, 16, 16]);
    const { logits } = await session.run({ pixel_values: input });
    expect(maxAbsDiff(logits.data as Float32Array, REFERENCE.truncated_logits)).toBeLessThan(1e-4);
    await session.release();
  });
});
