import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../lib/errors.js';
import { readArrowTable, readFloatRows } from '../../../lib/io/arrowTensors.js';
import { blockLayout, findBlocks, namedBlocks } from '../../../lib/onnx/blocks.js';
import { openModelFile } from '../../../lib/onnx/inference.js';
import {
  decodeModel,
  elementCount,
  encodeModel,
  type ImageInput,
  imageInput,
  int64,
  loadModel,
  type ModelProto,
  modelMetadata,
  onnx,
  preprocessingFor,
  saveModel,
} from '../../../lib/onnx/model.js';
import { sessionOptions } from '../../../lib/onnx/session.js';
import { exposeClsTokens, exposeTensors, parameterCount, subgraphFrom, truncateBlocks } from '../../../lib/onnx/surgery.js';
import { EXPORT_FIXTURES } from '../../helpers/exports.js';
import { MODEL, maxAbsDiff, NO_BLOCKS_MODEL, REFERENCE, TRAIN, temporaryDir } from '../../helpers/fixtures.js';

/** The first `rows` images of the digits train split (PyTorch's reference rows), as one batch. */
async function referenceBatch(rows = REFERENCE.rows): Promise<Tensor> {
  const { values, dim } = readFloatRows(await readArrowTable(TRAIN), 'pixels', TRAIN);
  return new Tensor('float32', values.slice(0, rows * dim), [rows, 3, 16, 16]);
}

async function run(model: ModelProto, outputs: string[]): Promise<Record<string, Tensor>> {
  const session = await InferenceSession.create(encodeModel(model));
  const result = await session.run({ pixel_values: await referenceBatch() }, outputs);
  await session.release();
  return result;
}

/** The logits a session gives on the first `rows` reference rows; the session is released. */
async function sessionLogits(session: InferenceSession, rows = REFERENCE.rows): Promise<Float32Array> {
  const { logits } = await session.run({ pixel_values: await referenceBatch(rows) }, ['logits']);
  await session.release();
  return logits.data as Float32Array;
}

/** What a promise rejects with (it must reject). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('reading models', () => {
  let model: ModelProto;
  beforeAll(async () => {
    model = await loadModel(MODEL);
  });

  it('reads the image input and the metadata the fixture script stored', () => {
    expect(imageInput(model, MODEL)).toEqual({ name: 'pixel_values', fixedBatch: null, channels: 3, height: 16, width: 16 });
    expect(modelMetadata(model)).toMatchObject({ mean: '0.5,0.5,0.5', std: '0.5,0.5,0.5' });
  });

  it('converts int64 values and counts tensor elements', () => {
    expect(int64(7)).toBe(7);
    expect(int64({ toNumber: () => 9 })).toBe(9);
    expect(int64(undefined)).toBe(0);
    expect(elementCount([2, 3, { toNumber: () => 4 }])).toBe(24);
    expect(elementCount([])).toBe(1);
  });

  it('names the file when it is not ONNX or is cut short', async () => {
    expect(() => decodeModel(new TextEncoder().encode('hello, not a model'), 'notes.txt')).toThrow(/notes\.txt: /);
    const bytes = await readFile(MODEL);
    expect(() => decodeModel(bytes.subarray(0, bytes.length / 2), 'half.onnx')).toThrow(/half\.onnx: not a readable ONNX model/);
    await expect(loadModel('/nonexistent.onnx')).rejects.toThrow(/\/nonexistent\.onnx: model file not found/);
  });
});

describe('block discovery', () => {
  it("finds the fixture's six blocks, each output the residual stream after the block", async () => {
    const model = await loadModel(MODEL);
    const { blockOutputs } = findBlocks(model, MODEL);
    expect(blockOutputs).toHaveLength(REFERENCE.blocks);
    blockOutputs.forEach((name, index) => {
      expect(name).toContain(`layers.${index}/`);
    });
    // The oracle: the tensors' CLS rows equal PyTorch's hidden_states[i][:, 0].
    const outputs = await run(exposeTensors(model, blockOutputs), blockOutputs);
    blockOutputs.forEach((name, index) => {
      const [rows, tokens, dim] = outputs[name].dims;
      const values = outputs[name].data as Float32Array;
      const cls = new Float32Array(rows * dim);
      for (let row = 0; row < rows; row++) cls.set(values.subarray(row * tokens * dim, row * tokens * dim + dim), row * dim);
      expect(maxAbsDiff(cls, REFERENCE.cls[index])).toBeLessThan(1e-4);
    });
  });

  it("reads the dynamo exporter's module paths from node metadata, and takes nodes without any as no evidence", () => {
    // Block 0's output is out0; tail0, made after it inside block 0, is read only by a node the
    // optimiser added without metadata: it must not pass for the block's output.
    const scope = (path: string) => [{ key: 'namespace', value: `: Root/blocks: Sequential/${path}: Block/op: aten.op` }];
    const node = (name: string, input: string[], output: string, metadataProps?: { key: string; value: string }[]) =>
      onnx.NodeProto.create({ name, opType: 'Add', input, output: [output], metadataProps });
    const model = onnx.ModelProto.create({
      graph: onnx.GraphProto.create({
        node: [
          node('node_add_0', ['x', 'x'], 'inner0', scope('blocks.0.attn')),
          node('node_add_1', ['inner0', 'x'], 'out0', scope('blocks.0')),
          node('node_add_2', ['out0', 'out0'], 'tail0', scope('blocks.0')),
          node('node_Identity_3', ['tail0', 'tail0'], 'probe'),
          node('node_add_4', ['out0', 'out0'], 'out1', scope('blocks.1.mlp')),
          node('node_add_5', ['out1', 'out1'], 'y', [{ key: 'namespace', value: ': Root/norm: LayerNorm/add: aten.add' }]),
        ],
        output: [{ name: 'y' }, { name: 'probe' }],
      }),
    });
    expect(findBlocks(model, 'dynamo.onnx').blockOutputs).toEqual(['out0', 'out1']);
  });

  it('fails clearly on a model without blocks', async () => {
    const model = await loadModel(NO_BLOCKS_MODEL);
    expect(() => findBlocks(model, NO_BLOCKS_MODEL)).toThrow(/no transformer blocks found.*--block-outputs/);
  });

  it('takes block outputs named by the user, and checks them', async () => {
    const model = await loadModel(MODEL);
    const found = findBlocks(model, MODEL).blockOutputs;
    expect(blockLayout(model, MODEL, found.slice(0, 2)).blockOutputs).toEqual(found.slice(0, 2));
    expect(() => namedBlocks(model, MODEL, ['no_such_tensor'])).toThrow(/no node produces the block output "no_such_tensor"/);
  });
});

describe('exposeClsTokens', () => {
  it("returns each block's CLS token as [batch, dim], equal to row 0 of the unmodified graph's block output", async () => {
    const model = await loadModel(MODEL);
    const { blockOutputs } = findBlocks(model, MODEL);
    // The oracle: the block outputs themselves, [batch, tokens, dim], from the graph with nothing added but outputs.
    const full = await run(exposeTensors(model, blockOutputs), blockOutputs);
    const { model: surgered, cls, shapes } = exposeClsTokens(model, blockOutputs);
    expect(cls).toHaveLength(blockOutputs.length);
    const outputs = await run(surgered, [...cls, ...shapes]);
    blockOutputs.forEach((name, index) => {
      const [rows, tokens, dim] = full[name].dims;
      expect([rows, tokens, dim]).toEqual([REFERENCE.rows, 17, REFERENCE.hidden]); // 16 patches of 4x4 and the CLS token
      expect(outputs[cls[index]].dims).toEqual([rows, dim]);
      expect(Array.from(outputs[shapes[index]].data as BigInt64Array, Number)).toEqual([rows, tokens, dim]);
      const values = full[name].data as Float32Array;
      const rowZero = new Float32Array(rows * dim);
      for (let row = 0; row < rows; row++) rowZero.set(values.subarray(row * tokens * dim, row * tokens * dim + dim), row * dim);
      expect(maxAbsDiff(outputs[cls[index]].data as Float32Array, rowZero)).toBeLessThan(1e-6);
      expect(maxAbsDiff(outputs[cls[index]].data as Float32Array, REFERENCE.cls[index])).toBeLessThan(1e-4);
    });
  });

  it('names what it adds apart from every tensor already in the graph', () => {
    const model = onnx.ModelProto.create({
      graph: onnx.GraphProto.create({
        node: [
          onnx.NodeProto.create({ name: 'a', opType: 'Relu', input: ['x'], output: ['h'] }),
          onnx.NodeProto.create({ name: 'b', opType: 'Relu', input: ['h'], output: ['h_cls'] }),
          onnx.NodeProto.create({ name: 'c', opType: 'Relu', input: ['h_cls'], output: ['sls_cls_index'] }),
        ],
        output: [{ name: 'sls_cls_index' }],
      }),
    });
    const { model: surgered, cls, shapes } = exposeClsTokens(model, ['h']);
    expect(cls).toEqual(['h_cls_2']);
    expect(shapes).toEqual(['h_shape']);
    const gather = surgered.graph?.node?.find((node) => node.opType === 'Gather');
    expect(gather?.input).toEqual(['h', 'sls_cls_index_2']);
    expect(surgered.graph?.output?.map((output) => output.name)).toEqual(['sls_cls_index', 'h_cls_2', 'h_shape']);
    // The input model is left as it was.
    expect(model.graph?.node).toHaveLength(3);
  });
});

describe('truncateBlocks', () => {
  let model: ModelProto;
  let blockOutputs: string[];
  beforeAll(async () => {
    model = await loadModel(MODEL);
    blockOutputs = findBlocks(model, MODEL).blockOutputs;
  });

  it("keeps block k's output equal to the full model's, and gives PyTorch's pruned logits", async () => {
    const k = REFERENCE.truncated_k;
    const full = await run(exposeTensors(model, [blockOutputs[k - 1]]), [blockOutputs[k - 1], 'logits']);
    const pruned = truncateBlocks(model, { blockOutputs }, k);
    const outputs = await run(exposeTensors(pruned, [blockOutputs[k - 1]]), [blockOutputs[k - 1], 'logits']);
    expect(maxAbsDiff(outputs[blockOutputs[k - 1]].data as Float32Array, full[blockOutputs[k - 1]].data as Float32Array)).toBe(0);
    expect(maxAbsDiff(outputs.logits.data as Float32Array, REFERENCE.truncated_logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(full.logits.data as Float32Array, REFERENCE.logits)).toBeLessThan(1e-4);
  });

  it('drops the nodes and weights of the pruned blocks', () => {
    const pruned = truncateBlocks(model, { blockOutputs }, 2);
    const names = (pruned.graph?.node ?? []).map((node) => node.name ?? '');
    expect(names.some((name) => name.includes('layers.1/'))).toBe(true);
    expect(names.some((name) => name.includes('layers.2/'))).toBe(false);
    const total = parameterCount(model);
    const perBlock = (total - parameterCount(truncateBlocks(model, { blockOutputs }, 1))) / (blockOutputs.length - 1);
    // Every block has the same size: k blocks keep total - (N - k) * perBlock parameters.
    expect(parameterCount(pruned)).toBe(total - 4 * perBlock);
    expect(Number.isInteger(perBlock)).toBe(true);
  });

  it('keeps the model whole at k = N and refuses k outside 1..N', async () => {
    const whole = await run(truncateBlocks(model, { blockOutputs }, blockOutputs.length), ['logits']);
    expect(maxAbsDiff(whole.logits.data as Float32Array, REFERENCE.logits)).toBeLessThan(1e-4);
    expect(() => truncateBlocks(model, { blockOutputs }, 0)).toThrow(RangeError);
    expect(() => truncateBlocks(model, { blockOutputs }, 7)).toThrow(RangeError);
  });

  it('writes a checkpoint that onnxruntime loads from disk', async () => {
    const path = join(temporaryDir(), 'pruned.onnx');
    writeFileSync(path, encodeModel(truncateBlocks(model, { blockOutputs }, 3)));
    const session = await InferenceSession.create(path);
    expect(session.outputNames).toEqual(['logits']);
    await session.release();
  });
});

describe('subgraphFrom', () => {
  it("gives PyTorch's pruned logits from PyTorch's CLS tokens of block k alone, fed as one-token sequences", async () => {
    const model = await loadModel(MODEL);
    const { blockOutputs } = findBlocks(model, MODEL);
    const k = REFERENCE.truncated_k;
    const pruned = truncateBlocks(model, { blockOutputs }, k);
    // The final norm, the CLS token and the head: no block, no image.
    const part = subgraphFrom(pruned, blockOutputs[k - 1], 'logits') as ModelProto;
    expect(part.graph?.input?.map((input) => input.name)).toEqual([blockOutputs[k - 1]]);
    const session = await InferenceSession.create(encodeModel(part));
    const cls = new Tensor('float32', Float32Array.from(REFERENCE.cls[k - 1]), [REFERENCE.rows, 1, REFERENCE.hidden]);
    const { logits } = await session.run({ [blockOutputs[k - 1]]: cls }, ['logits']);
    await session.release();
    expect(maxAbsDiff(logits.data as Float32Array, REFERENCE.truncated_logits)).toBeLessThan(1e-4);
  });

  it('is null where the output needs the image by another way', async () => {
    const model = await loadModel(MODEL);
    const { blockOutputs } = findBlocks(model, MODEL);
    // Block 1 comes before block 3: only the image makes it.
    expect(subgraphFrom(model, blockOutputs[2], blockOutputs[0])).toBeNull();
  });
});

describe('sessionOptions', () => {
  it('runs one operator at a time over every core, with every graph optimisation and buffer reuse', () => {
    expect(sessionOptions('cpu')).toEqual({
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: availableParallelism(),
      interOpNumThreads: 1,
      enableCpuMemArena: true,
      enableMemPattern: true,
    });
    expect(sessionOptions('cuda').executionProviders).toEqual(['cuda']);
  });

  it("gives a session that onnxruntime accepts and that reproduces PyTorch's logits", async () => {
    const session = await InferenceSession.create(MODEL, sessionOptions('cpu'));
    expect(maxAbsDiff(await sessionLogits(session), REFERENCE.logits)).toBeLessThan(1e-4);
  });
});

describe('openModelFile', () => {
  it("opens a model file whose session gives PyTorch's logits", async () => {
    expect(maxAbsDiff(await sessionLogits(await openModelFile(MODEL)), REFERENCE.logits)).toBeLessThan(1e-4);
  });

  it('resolves external data beside the file (a dynamo export)', async () => {
    const fixture = EXPORT_FIXTURES.find(({ reference }) => reference.external_data_files.length > 0);
    if (!fixture) throw new Error('no export fixture with external data');
    const logits = await sessionLogits(await openModelFile(fixture.model), fixture.reference.rows);
    expect(maxAbsDiff(logits, fixture.reference.outputs.logits)).toBeLessThan(1e-4);
  });

  it('refuses a file that is not a loadable model with an InputError naming it', async () => {
    const dir = temporaryDir();
    const notes = join(dir, 'notes.onnx');
    writeFileSync(notes, 'hello, not a model');
    // A dynamo export's graph copied without the external data file it names.
    const fixture = EXPORT_FIXTURES.find(({ reference }) => reference.external_data_files.length > 0);
    if (!fixture) throw new Error('no export fixture with external data');
    const alone = join(dir, 'alone.onnx');
    copyFileSync(fixture.model, alone);
    for (const path of [notes, alone, join(dir, 'missing.onnx')]) {
      const error = await rejection(openModelFile(path));
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).file).toBe(path);
      expect((error as InputError).message.startsWith(`${path}: onnxruntime cannot load the model: `)).toBe(true);
    }
  });
});

describe('saveModel', () => {
  it("writes a model that loads back and gives PyTorch's pruned logits, leaving no temporary behind", async () => {
    const model = await loadModel(MODEL);
    const pruned = truncateBlocks(model, findBlocks(model, MODEL), REFERENCE.truncated_k);
    const dir = join(temporaryDir(), 'checkpoint');
    const path = join(dir, 'pruned.onnx');
    await saveModel(path, pruned);
    expect(readdirSync(dir)).toEqual(['pruned.onnx']);
    // Through onnxruntime from the path, and through the project's own loader.
    const fromFile = await sessionLogits(await InferenceSession.create(path));
    expect(maxAbsDiff(fromFile, REFERENCE.truncated_logits)).toBeLessThan(1e-4);
    const reloaded = await run(await loadModel(path), ['logits']);
    expect(maxAbsDiff(reloaded.logits.data as Float32Array, fromFile)).toBe(0);
  });
});

describe('preprocessingFor', () => {
  // The fixture ViT's image input (make_model_fixtures.py: 3 x 16 x 16, dynamic batch).
  const input: ImageInput = { name: 'pixel_values', fixedBatch: null, channels: 3, height: 16, width: 16 };
  let model: ModelProto;
  beforeAll(async () => {
    model = await loadModel(MODEL);
  });

  it("takes the input's size and the mean and std the fixture script stored, resizing bilinearly by default", () => {
    expect(preprocessingFor(model, input, MODEL, {})).toEqual({
      height: 16,
      width: 16,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      interpolation: 'bilinear',
    });
  });

  it("lets the flags override the metadata, and follows the input's height and width apart", () => {
    const preprocessing = preprocessingFor(model, { ...input, height: 24, width: 20 }, MODEL, { mean: '0.1,0.2,0.3', std: '1,2,4' });
    expect(preprocessing).toMatchObject({ height: 24, width: 20, mean: [0.1, 0.2, 0.3], std: [1, 2, 4] });
  });

  it('refuses a model without a mean and std, naming the file', () => {
    const bare = { ...model, metadataProps: [] };
    expect(() => preprocessingFor(bare, input, 'bare.onnx', {})).toThrow(InputError);
    expect(() => preprocessingFor(bare, input, 'bare.onnx', {})).toThrow(/^bare\.onnx: encoded images need a mean and std/);
  });
});
