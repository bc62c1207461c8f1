import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LogisticFit } from '../../../lib/emit/headRefit.js';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import {
  ABSENT_CLASS_BIAS,
  appendLinearHead,
  findHead,
  headlessFinalNorm,
  refitHeadTensors,
  withHeadBias,
} from '../../../lib/onnx/head.js';
import { encodeModel, loadModel, type ModelProto, onnx } from '../../../lib/onnx/model.js';
import { replaceInitializers, truncateBlocks } from '../../../lib/onnx/surgery.js';
import { EXPORT_FIXTURES } from '../../helpers/exports.js';
import { MODEL } from '../../helpers/fixtures.js';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function floats(name: string, dims: number[], values: number[]) {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

/**
 * features [batch, 2] -> MatMul W [2, 3] -> Add b [3] -> logits: a timm-style head, built by hand;
 * or MatMul straight to the logits, or a Gemm with transB = 1 and no bias (as the dynamo exporter writes).
 */
function matMulHead(kind: 'MatMul + Add' | 'MatMul' | 'Gemm' = 'MatMul + Add'): ModelProto {
  const value = (name: string, dims: Array<number | string>) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'head',
      node: {
        'MatMul + Add': [
          { opType: 'MatMul', name: 'head/MatMul', input: ['features', 'head.weight'], output: ['product'] },
          { opType: 'Add', name: 'head/Add', input: ['product', 'head.bias'], output: ['logits'] },
        ],
        MatMul: [{ opType: 'MatMul', name: 'head/MatMul', input: ['features', 'head.weight'], output: ['logits'] }],
        Gemm: [
          {
            opType: 'Gemm',
            name: 'head/Gemm',
            input: ['features', 'head.weight'],
            output: ['logits'],
            attribute: [{ name: 'transB', type: 2, i: 1 }],
          },
        ],
      }[kind],
      initializer:
        kind === 'MatMul + Add'
          ? [floats('head.weight', [2, 3], [1, 2, 3, 4, 5, 6]), floats('head.bias', [3], [0, 0, 0])]
          : [floats('head.weight', kind === 'Gemm' ? [3, 2] : [2, 3], [1, 2, 3, 4, 5, 6])],
      input: [value('features', ['batch', 2])],
      output: [value('logits', ['batch', 3])],
    },
  };
}

async function logitsOf(model: ModelProto, feeds: Record<string, Tensor>): Promise<Float32Array> {
  const session = await InferenceSession.create(encodeModel(model));
  const { logits } = await session.run(feeds);
  await session.release();
  return logits.data as Float32Array;
}

function fitOf(classes: number[], weights: number[], intercepts: number[]): LogisticFit {
  return {
    classes: Int32Array.from(classes),
    weights: Float64Array.from(weights),
    intercepts: Float64Array.from(intercepts),
    objective: 0,
    iterations: 0,
    converged: true,
  };
}

describe('findHead', () => {
  let model: ModelProto;
  beforeAll(async () => {
    model = await loadModel(MODEL);
  });

  it("finds the HF ViT's Gemm head reading the normed CLS token, in the full and the cut model", () => {
    const expected = {
      input: '/Gather_output_0',
      output: 'logits',
      op: 'Gemm',
      product: 'logits',
      weight: 'classifier.weight',
      bias: 'classifier.bias',
      weightTransposed: true,
      classes: 10,
      dim: 64,
    };
    expect(findHead(model, MODEL)).toEqual(expected);
    expect(findHead(truncateBlocks(model, findBlocks(model, MODEL), 2), MODEL)).toEqual(expected);
  });

  it('finds a MatMul + Add head', () => {
    expect(findHead(matMulHead(), 'head.onnx')).toEqual({
      input: 'features',
      output: 'logits',
      op: 'MatMul',
      product: 'product',
      weight: 'head.weight',
      bias: 'head.bias',
      weightTransposed: false,
      classes: 3,
      dim: 2,
    });
  });

  it('names the file and the problem when the logits come from something else', () => {
    const model = matMulHead();
    const graph = model.graph!;
    const relu = { ...model, graph: { ...graph, node: [...graph.node!, { opType: 'Relu', input: ['logits'], output: ['scores'] }] } };
    relu.graph.output = [{ ...graph.output![0], name: 'scores' }];
    expect(() => findHead(relu, 'relu.onnx')).toThrow(
      /relu\.onnx: cannot find the classification head: the output "scores" is produced by a Relu node/,
    );
  });
});

describe('refitHeadTensors and replaceInitializers', () => {
  it('lays a fit out as a [dim, classes] MatMul weight; absent classes are never predicted', async () => {
    // Classes 0 and 2 seen: row 0 = w_0, row 1 = w_2. Class 1 gets zero weights and ABSENT_CLASS_BIAS.
    const fit = fitOf([0, 2], [1, 2, -3, 4], [0.5, -0.25]);
    const model = matMulHead();
    const refit = replaceInitializers(model, refitHeadTensors(findHead(model, 'head.onnx'), fit, 'train.arrow'));
    const logits = await logitsOf(refit, { features: new Tensor('float32', Float32Array.of(1, 1, 2, -1), [2, 2]) });
    // By hand: x = (1, 1): w_0.x + 0.5 = 3.5, class 1 -> -1e4, w_2.x - 0.25 = 0.75; x = (2, -1): 0.5, -1e4, -10.25.
    expect(Array.from(logits)).toEqual([3.5, ABSENT_CLASS_BIAS, 0.75, 0.5, ABSENT_CLASS_BIAS, -10.25]);
  });

  it("lays a fit out as the HF Gemm's [classes, dim] weight", async () => {
    const model = await loadModel(MODEL);
    const head = findHead(model, MODEL);
    // Class c's weights are all c / 64; row c of the stored [10, 64] weight must be class c's.
    const weights = Array.from({ length: 640 }, (_, i) => Math.floor(i / 64) / 64);
    const intercepts = Array.from({ length: 10 }, (_, c) => 2 * c);
    const refit = replaceInitializers(
      model,
      refitHeadTensors(head, fitOf([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], weights, intercepts), 'train.arrow'),
    );
    const weight = refit.graph!.initializer!.find((tensor) => tensor.name === 'classifier.weight')!;
    const values = new Float32Array(Uint8Array.from(weight.rawData!).buffer);
    expect(values[3 * 64 + 5]).toBe(3 / 64);
    expect(values[9 * 64]).toBe(9 / 64);
    expect(weight.dims?.map(Number)).toEqual([10, 64]);
  });

  it('gives a head without a bias a zero one, leaving its logits as they were, then holds the intercepts', async () => {
    const features = new Tensor('float32', Float32Array.of(1, -1), [1, 2]);
    for (const kind of ['MatMul', 'Gemm'] as const) {
      const model = matMulHead(kind);
      const before = await logitsOf(model, { features });
      const { model: biased, head } = withHeadBias(model, findHead(model, 'head.onnx'));
      expect(head.bias).toBe('head.weight.bias');
      expect(findHead(biased, 'head.onnx')).toEqual(head);
      expect(await logitsOf(biased, { features })).toEqual(before);
      // By hand: x = (1, -1), w_c = (c + 1, -c): logit c = 2c + 1, plus intercept c.
      const refit = replaceInitializers(biased, refitHeadTensors(head, fitOf([0, 1, 2], [1, 0, 2, -1, 3, -2], [0, 1, 2]), 'train.arrow'));
      expect(Array.from(await logitsOf(refit, { features }))).toEqual([1, 4, 7]);
    }
  });

  it('refuses labels the head has no output for, and replacements of another size', async () => {
    const model = matMulHead();
    const head = findHead(model, 'head.onnx');
    expect(() => refitHeadTensors(head, fitOf([0, 5], [1, 2, 3, 4], [0, 0]), 'train.arrow')).toThrow(
      /train\.arrow: the training split has label 5, but the head has 3 outputs/,
    );
    expect(() => replaceInitializers(model, [floats('head.bias', [2], [1, 2])])).toThrow(/"head.bias" holds 3 values, its replacement 2/);
    expect(() => replaceInitializers(model, [floats('nope', [1], [1])])).toThrow(/no initialiser named "nope"/);
  });
});

describe('headlessFinalNorm and appendLinearHead', () => {
  it('finds the final norm of the exports without a head only (HF ViTModel: last_hidden_state, 32 wide)', async () => {
    const found = await Promise.all(
      EXPORT_FIXTURES.map(async ({ name, model: path }) => {
        const model = await loadModel(path);
        return [name, headlessFinalNorm(model, findBlocks(model, path), path)];
      }),
    );
    const headless = { output: 'last_hidden_state', dim: 32 };
    expect(Object.fromEntries(found)).toEqual(
      Object.fromEntries(EXPORT_FIXTURES.map(({ name }) => [name, name.startsWith('hf-model-') ? headless : null])),
    );
    const vit = await loadModel(MODEL);
    expect(headlessFinalNorm(vit, findBlocks(vit, MODEL), MODEL)).toBeNull();
  });

  it("appends a Gemm on the final norm's CLS token as the only output, logits, that findHead then finds", async () => {
    const fixture = EXPORT_FIXTURES.find(({ name }) => name === 'hf-model-lora-torchscript')!;
    const model = await loadModel(fixture.model);
    const norm = headlessFinalNorm(model, findBlocks(model, fixture.model), fixture.model)!;
    const { model: classifier, head } = appendLinearHead(model, norm, 3);
    expect(head).toMatchObject({ output: 'logits', op: 'Gemm', weightTransposed: true, classes: 3, dim: 32 });
    expect(findHead(classifier, fixture.model)).toEqual(head);
    // W = [1 at feature c, for c = 0..2] and b = [10, 20, 30]: logits are features 0..2 of the CLS token plus b.
    const weight = Array.from({ length: 3 * 32 }, (_, index) => (index % 32 === Math.floor(index / 32) ? 1 : 0));
    const fitted = replaceInitializers(classifier, [floats(head.weight, [3, 32], weight), floats(head.bias as string, [3], [10, 20, 30])]);
    const session = await InferenceSession.create(encodeModel(fitted));
    expect(session.outputNames).toEqual(['logits']);
    const { rows } = fixture.reference;
    const pixels = Float32Array.from({ length: rows * 768 }, (_, index) => Math.sin(index));
    const { logits } = await session.run({ pixel_values: new Tensor('float32', pixels, [rows, 3, 16, 16]) });
    await session.release();
    const plain = await InferenceSession.create(fixture.model);
    const { last_hidden_state: hidden } = await plain.run({ pixel_values: new Tensor('float32', pixels, [rows, 3, 16, 16]) });
    await plain.release();
    const tokens = hidden.dims[1];
    const expected = Array.from({ length: rows * 3 }, (_, index) => {
      const [row, c] = [Math.floor(index / 3), index % 3];
      return (hidden.data as Float32Array)[row * tokens * 32 + c] + 10 * (c + 1);
    });
    expect(Array.from(logits.data as Float32Array)).toEqual(expected.map((value) => expect.closeTo(value, 5)));
  });
});
