/**
 * Block discovery and extraction on real exports: timm and Hugging Face ViTs, with adapters, LoRA
 * or LoRA merged into the weights, written by the dynamo and the TorchScript exporters
 * (test/fixtures/make_real_exports.py, make_timm_exports.py). The oracle is PyTorch's own
 * per-block CLS features, saved by those scripts.
 */
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { extractFeatures, layerFileName } from '../../../lib/extract/extract.js';
import { readArrowTable, readFeatures, readFloatRows } from '../../../lib/io/arrowTensors.js';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import { decodeModel, encodeModel, loadModel, metadataMap, modelFiles } from '../../../lib/onnx/model.js';
import { exposeTensors, truncateBlocks } from '../../../lib/onnx/surgery.js';
import { EXPORT_FIXTURES, type ExportFixture } from '../../helpers/exports.js';
import { IMAGES, maxAbsDiff, TRAIN, temporaryDir, writePixelDataset } from '../../helpers/fixtures.js';

const PIXELS_PER_IMAGE = 3 * 16 * 16;

/** The reference rows of the digits train split, as a pixels dataset of their own. */
async function referenceRows(rows: number): Promise<{ path: string; pixels: Float32Array }> {
  const table = await readArrowTable(TRAIN);
  const pixels = readFloatRows(table, 'pixels', TRAIN).values.slice(0, rows * PIXELS_PER_IMAGE);
  const path = join(temporaryDir(), 'rows.arrow');
  // Labels do not matter to the features; the dataset only needs two classes.
  writePixelDataset(
    path,
    pixels,
    PIXELS_PER_IMAGE,
    Int32Array.from({ length: rows }, (_, row) => row % 2),
  );
  return { path, pixels };
}

async function runOutput(model: Uint8Array | string, pixels: Float32Array, output: string): Promise<Float32Array> {
  const session = await InferenceSession.create(model as string);
  const rows = pixels.length / PIXELS_PER_IMAGE;
  const result = await session.run({ pixel_values: new Tensor('float32', pixels, [rows, 3, 16, 16]) }, [output]);
  await session.release();
  return result[output].data as Float32Array;
}

describe.each(EXPORT_FIXTURES)('real export $name', ({ model, reference }: ExportFixture) => {
  it("finds every block, and each block's CLS equals PyTorch's to 1e-4", async () => {
    const { path } = await referenceRows(reference.rows);
    const out = temporaryDir();
    const summary = await extractFeatures(model, path, out);
    expect(summary.layers).toBe(reference.blocks);
    expect(summary.dim).toBe(reference.hidden);
    for (let layer = 1; layer <= reference.blocks; layer++) {
      const features = await readFeatures(join(out, layerFileName(layer)));
      expect(maxAbsDiff(features.values, reference.cls[layer - 1])).toBeLessThan(1e-4);
    }
  });

  it("keeps block k's output equal to the full model's once the blocks above k are cut, saved anywhere", async () => {
    const loaded = await loadModel(model);
    const { blockOutputs } = findBlocks(loaded, model);
    const { pixels } = await referenceRows(reference.rows);
    const k = 2;
    const full = await runOutput(encodeModel(exposeTensors(loaded, blockOutputs)), pixels, blockOutputs[k - 1]);
    // Saved away from the export's external data file: the cut model must not depend on it.
    const cut = join(temporaryDir(), 'cut.onnx');
    writeFileSync(cut, encodeModel(exposeTensors(truncateBlocks(loaded, { blockOutputs }, k), [blockOutputs[k - 1]])));
    const truncated = await runOutput(cut, pixels, blockOutputs[k - 1]);
    expect(maxAbsDiff(truncated, full)).toBe(0);
    const cls = Float32Array.from({ length: reference.rows * reference.hidden }, (_, i) => {
      const [row, column] = [Math.floor(i / reference.hidden), i % reference.hidden];
      return truncated[row * (truncated.length / reference.rows) + column];
    });
    expect(maxAbsDiff(cls, reference.cls[k - 1])).toBeLessThan(1e-4);
  });

  it('decodes and re-encodes every field, node metadata included', () => {
    const bytes = readFileSync(model);
    const decoded = decodeModel(bytes, model);
    const nodes = decoded.graph?.node ?? [];
    expect(nodes.filter((node) => (node.metadataProps ?? []).length > 0)).toHaveLength(reference.nodes_with_metadata);
    for (const [name, metadata] of Object.entries(reference.node_metadata)) {
      expect(metadataMap(nodes.find((node) => node.name === name)?.metadataProps)).toEqual(metadata);
    }
    const again = encodeModel(decoded);
    // Field order may differ from the exporter's; a dropped field would shorten the encoding.
    expect(again.length).toBe(bytes.length);
    expect(decodeModel(again, model).graph?.node?.map((node) => metadataMap(node.metadataProps))).toEqual(
      nodes.map((node) => metadataMap(node.metadataProps)),
    );
  });

  it("preprocesses encoded images as the model's metadata says (timm pretrained_cfg, HF preprocessor_config)", async () => {
    const out = temporaryDir();
    await extractFeatures(model, IMAGES, out);
    const top = await readFeatures(join(out, layerFileName(reference.blocks)));
    expect(maxAbsDiff(top.values.subarray(0, reference.rows * top.dim), reference.metadata_top_cls)).toBeLessThan(1e-4);
  });
});

describe('models with external data', () => {
  const dynamo = EXPORT_FIXTURES.find((fixture) => fixture.reference.external_data_files.length > 0) as ExportFixture;

  function copyWithout(dataBytes: number | null): string {
    const dir = temporaryDir();
    copyFileSync(dynamo.model, join(dir, 'model.onnx'));
    for (const file of dynamo.reference.external_data_files) {
      if (dataBytes === null) continue;
      copyFileSync(join(dynamo.model, '..', file), join(dir, file));
      truncateSync(join(dir, file), dataBytes);
    }
    return join(dir, 'model.onnx');
  }

  it('lists the files a model is made of: the graph, then its external data', async () => {
    expect(await modelFiles(dynamo.model)).toEqual([dynamo.model, join(dynamo.model, '..', 'model.onnx.data')]);
    const torchscript = EXPORT_FIXTURES.find((fixture) => fixture.name.endsWith('torchscript')) as ExportFixture;
    expect(await modelFiles(torchscript.model)).toEqual([torchscript.model]);
  });

  it('names the missing external data file and the model', async () => {
    const path = copyWithout(null);
    const data = join(path, '..', dynamo.reference.external_data_files[0]);
    await expect(loadModel(path)).rejects.toThrow(`${data}: external data file not found (external data of ${path})`);
  });

  it('names a truncated external data file', async () => {
    const path = copyWithout(100);
    await expect(loadModel(path)).rejects.toThrow(/model\.onnx\.data: holds 100 bytes, tensor ".*" needs bytes .* \(truncated\?\)/);
  });

  it('refuses an external location outside the model directory', async () => {
    const loaded = decodeModel(readFileSync(dynamo.model), dynamo.model);
    const tensor = (loaded.graph?.initializer ?? []).find((t) => (t.externalData ?? []).length > 0);
    for (const entry of tensor?.externalData ?? []) if (entry.key === 'location') entry.value = '../../etc/passwd';
    const dir = join(temporaryDir(), 'model');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), encodeModel(loaded));
    await expect(loadModel(join(dir, 'model.onnx'))).rejects.toThrow(/invalid external data location "\.\.\/\.\.\/etc\/passwd"/);
  });
});
