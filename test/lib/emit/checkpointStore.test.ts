import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { storeCheckpoint, storeUsage, TENSOR_DIR } from '../../../lib/emit/checkpointStore.js';
import { readArrowTable, readFloatRows } from '../../../lib/io/arrowTensors.js';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import { encodeModel, loadModel, type ModelProto } from '../../../lib/onnx/model.js';
import { replaceInitializers, truncateBlocks } from '../../../lib/onnx/surgery.js';
import { MODEL, maxAbsDiff, REFERENCE, TRAIN, temporaryDir } from '../../helpers/fixtures.js';

async function logits(session: InferenceSession, images: Tensor): Promise<Float32Array> {
  const { logits } = await session.run({ pixel_values: images });
  await session.release();
  return logits.data as Float32Array;
}

/** Another "dataset": the same backbone with its own adapters (every adapter weight scaled). */
function otherDataset(model: ModelProto): ModelProto {
  const adapters = (model.graph?.initializer ?? [])
    .filter((tensor) => tensor.name?.includes('adapter'))
    .map((tensor) => {
      const values = new Float32Array(Uint8Array.from(tensor.rawData!).buffer).map((value) => value * 1.5);
      return { ...tensor, rawData: new Uint8Array(values.buffer) };
    });
  return replaceInitializers(model, adapters);
}

describe('checkpoint store', () => {
  let images: Tensor;
  let checkpoints: Record<string, ModelProto>;
  let store: string;

  beforeAll(async () => {
    const { values } = readFloatRows(await readArrowTable(TRAIN), 'pixels', TRAIN);
    images = new Tensor('float32', values.slice(0, REFERENCE.rows * 768), [REFERENCE.rows, 3, 16, 16]);
    const model = await loadModel(MODEL);
    const layout = findBlocks(model, MODEL);
    const other = otherDataset(model);
    checkpoints = {
      'digits-k2': truncateBlocks(model, layout, 2),
      'digits-k3': truncateBlocks(model, layout, 3),
      'other-k3': truncateBlocks(other, layout, 3),
      'other-k6': truncateBlocks(other, layout, 6),
    };
    store = temporaryDir('sls-store-');
    for (const [name, checkpoint] of Object.entries(checkpoints)) await storeCheckpoint(join(store, `${name}.onnx`), checkpoint);
  });

  it('holds each shared tensor once, named by its content', () => {
    // The oracle: the distinct contents of the initialisers of 1 KiB or more, over all checkpoints.
    const distinct = new Set<string>();
    for (const checkpoint of Object.values(checkpoints)) {
      for (const tensor of checkpoint.graph?.initializer ?? []) {
        if ((tensor.rawData?.length ?? 0) >= 1024) distinct.add(Buffer.from(tensor.rawData!).toString('base64'));
      }
    }
    const files = readdirSync(join(store, TENSOR_DIR));
    expect(files).toHaveLength(distinct.size);
    const stored = new Set(files.map((file) => readFileSync(join(store, TENSOR_DIR, file)).toString('base64')));
    expect(stored).toEqual(distinct);
    // Block 1's pretrained attention weight is in all four checkpoints and on disk once.
    const query = checkpoints['digits-k2'].graph!.initializer!.find((t) => t.rawData!.length === 64 * 64 * 4)!;
    const copies = [...stored].filter((content) => content === Buffer.from(query.rawData!).toString('base64'));
    expect(copies).toHaveLength(1);
  });

  it('keeps each checkpoint runnable from its file, with the logits it had before storing', async () => {
    for (const [name, checkpoint] of Object.entries(checkpoints)) {
      const before = await logits(await InferenceSession.create(encodeModel(checkpoint)), images);
      const after = await logits(await InferenceSession.create(join(store, `${name}.onnx`)), images);
      expect(after).toEqual(before);
      // Our own reader follows the references back to the same weights.
      const reloaded = await loadModel(join(store, `${name}.onnx`));
      const bytes = (m: ModelProto) => (m.graph?.initializer ?? []).map((t) => Buffer.from(t.rawData ?? []).toString('base64'));
      expect(bytes(reloaded)).toEqual(bytes(checkpoint));
    }
    // And the stored cut model still gives PyTorch's logits.
    const stored = await logits(await InferenceSession.create(join(store, 'digits-k3.onnx')), images);
    expect(maxAbsDiff(stored, REFERENCE.truncated_logits)).toBeLessThan(1e-4);
  });

  it('takes less disk than the checkpoints as whole files', async () => {
    const whole = Object.values(checkpoints).reduce((sum, checkpoint) => sum + encodeModel(checkpoint).length, 0);
    const usage = await storeUsage(store);
    const modelFiles = Object.keys(checkpoints).reduce((sum, name) => sum + statSync(join(store, `${name}.onnx`)).size, 0);
    const distinctBytes = new Map<string, number>();
    for (const checkpoint of Object.values(checkpoints)) {
      for (const tensor of checkpoint.graph?.initializer ?? []) {
        if ((tensor.rawData?.length ?? 0) >= 1024)
          distinctBytes.set(Buffer.from(tensor.rawData!).toString('base64'), tensor.rawData!.length);
      }
    }
    const tensorBytes = [...distinctBytes.values()].reduce((sum, size) => sum + size, 0);
    expect(usage).toEqual({
      models: 4,
      modelBytes: modelFiles,
      tensors: distinctBytes.size,
      tensorBytes,
      totalBytes: modelFiles + tensorBytes,
    });
    // Four checkpoints of 2, 3, 3 and 6 blocks, two datasets: the pretrained blocks 1..3 are on disk once, not four times.
    expect(usage.totalBytes).toBeLessThan(0.75 * whole);
  });

  it('rewrites a damaged shared tensor instead of reusing it', async () => {
    const damagedStore = temporaryDir('sls-store-');
    await storeCheckpoint(join(damagedStore, 'digits-k2.onnx'), checkpoints['digits-k2']);
    const [victim] = readdirSync(join(damagedStore, TENSOR_DIR));
    const file = join(damagedStore, TENSOR_DIR, victim);
    const bytes = readFileSync(file);
    bytes[0] ^= 1;
    writeFileSync(file, bytes);
    // Stored again, the checkpoint references every tensor it wrote the first time.
    await storeCheckpoint(join(damagedStore, 'digits-k2-again.onnx'), checkpoints['digits-k2']);
    // The oracle: a content-addressed file's name is the sha256 of its bytes.
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(victim);
  });
});
