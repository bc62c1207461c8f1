/**
 * The classification head of an exported ViT: the Gemm, or MatMul (+ Add), that turns the
 * normed CLS features into the logits output. Found from the graph, not from names, so that
 * HF exports (/classifier/Gemm) and timm exports (head MatMul + Add) are both recognised.
 */

import { InputError } from '../errors.js';
import type { BlockLayout } from './blocks.js';
import { elementCount, type GraphProto, int64, type ModelProto, type NodeProto, onnx, type TensorProto } from './model.js';

export interface HeadLayout {
  /** The tensor the head reads, [batch, dim]: for a ViT, the final norm applied to the CLS token. */
  input: string;
  /** The logits graph output. */
  output: string;
  /** The Gemm or MatMul making the logits (before the bias, for MatMul + Add). */
  op: 'Gemm' | 'MatMul';
  /** That node's output: the logits themselves unless a bias is added after it. */
  product: string;
  weight: string;
  bias: string | null;
  /** True when the weight is stored [classes, dim] (Gemm with transB=1), false for [dim, classes]. */
  weightTransposed: boolean;
  classes: number;
  dim: number;
}

function attribute(node: NodeProto, name: string, fallback: number): number {
  const found = (node.attribute ?? []).find((entry) => entry.name === name);
  if (!found) return fallback;
  // AttributeProto.type 1 is FLOAT (alpha, beta); the others read here are INT.
  return found.type === 1 ? (found.f ?? 0) : int64(found.i);
}

/** The head producing the model's logits output (its only output, or the one named "logits"). */
export function findHead(model: ModelProto, path: string): HeadLayout {
  const graph = model.graph as GraphProto;
  const outputs = (graph.output ?? []).map((output) => output.name as string);
  const output = outputs.length === 1 ? outputs[0] : outputs.find((name) => name === 'logits');
  if (output === undefined) {
    throw new InputError(path, `cannot tell which output is the logits: the model has ${outputs.length} outputs (${outputs.join(', ')})`);
  }
  const nodes = graph.node ?? [];
  const producer = (tensor: string) => nodes.find((node) => (node.output ?? []).includes(tensor));
  const initialisers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name as string, tensor]));
  const fail = (problem: string): never => {
    throw new InputError(
      path,
      `cannot find the classification head: ${problem}; expected a Gemm, MatMul or MatMul + Add with weights as initialisers`,
    );
  };

  let last = producer(output) ?? fail(`no node produces the output "${output}"`);
  let bias: string | null = null;
  if (last.opType === 'Add') {
    const [a, b] = last.input ?? [];
    const [biasName, product] = initialisers.has(a) ? [a, b] : [b, a];
    if (!initialisers.has(biasName)) fail(`the output "${output}" comes from an Add of two computed tensors`);
    bias = biasName;
    last = producer(product) ?? fail(`no node produces "${product}"`);
    if (last.opType !== 'MatMul') fail(`the bias is added to the output of a ${last.opType} node`);
  }
  const [input, weight, gemmBias] = last.input ?? [];
  if (last.opType === 'Gemm') {
    if (attribute(last, 'transA', 0) !== 0 || attribute(last, 'alpha', 1) !== 1 || attribute(last, 'beta', 1) !== 1) {
      fail(`the Gemm "${last.name}" has transA, alpha or beta other than 0, 1, 1`);
    }
    bias = gemmBias || null;
  } else if (last.opType !== 'MatMul') {
    fail(`the output "${output}" is produced by a ${last.opType} node`);
  }
  const weightTensor = initialisers.get(weight) ?? fail(`the weight "${weight}" is not an initialiser`);
  if (bias !== null && !initialisers.has(bias)) fail(`the bias "${bias}" is not an initialiser`);
  const dims = (weightTensor.dims ?? []).map((dim) => int64(dim));
  if (dims.length !== 2) fail(`the weight "${weight}" has ${dims.length} dimensions, not 2`);
  const weightTransposed = last.opType === 'Gemm' && attribute(last, 'transB', 0) === 1;
  const [classes, dim] = weightTransposed ? dims : [dims[1], dims[0]];
  if (bias !== null && elementCount(initialisers.get(bias)?.dims) !== classes) fail(`the bias "${bias}" does not hold ${classes} values`);
  return {
    input,
    output,
    op: last.opType as HeadLayout['op'],
    product: last.output?.[0] as string,
    weight,
    bias,
    weightTransposed,
    classes,
    dim,
  };
}

/**
 * The model with a zero bias on a head exported without one (the dynamo exports in
 * test/fixtures/exports have none): a third Gemm input, or an Add after the MatMul. The refit's
 * intercepts need it.
 */
export function withHeadBias(model: ModelProto, head: HeadLayout): { model: ModelProto; head: HeadLayout } {
  if (head.bias !== null) return { model, head };
  const graph = model.graph as GraphProto;
  const taken = new Set((graph.initializer ?? []).map((tensor) => tensor.name));
  let bias = `${head.weight}.bias`;
  while (taken.has(bias)) bias = `${bias}_`;
  const product = head.op === 'Gemm' ? head.output : `${head.output}.no_bias`;
  const node = (graph.node ?? []).flatMap((current): NodeProto[] => {
    if (!(current.output ?? []).includes(head.output)) return [current];
    if (head.op === 'Gemm') return [{ ...current, input: [head.input, head.weight, bias] }];
    return [
      { ...current, output: [product] },
      { opType: 'Add', name: `${current.name ?? 'head'}/bias`, input: [product, bias], output: [head.output] },
    ];
  });
  const zeros = floatTensor(bias, [head.classes], new Float32Array(head.classes));
  return {
    model: { ...model, graph: { ...graph, node, initializer: [...(graph.initializer ?? []), zeros] } },
    head: { ...head, bias, product },
  };
}

/** The final norm of a backbone: the LayerNormalization reading block N's output, and its width. */
export interface FinalNorm {
  /** Its output, [batch, tokens, dim]. */
  output: string;
  dim: number;
}

/**
 * The final norm of a backbone exported without a head (HF ViTModel's last_hidden_state, timm's
 * num_classes=0 CLS features): null where no graph output is the final norm's output or a Gather
 * of it, i.e. where the model has a head of its own (findHead).
 */
export function headlessFinalNorm(model: ModelProto, layout: BlockLayout, path: string): FinalNorm | null {
  const graph = model.graph as GraphProto;
  const nodes = graph.node ?? [];
  const top = layout.blockOutputs[layout.blockOutputs.length - 1];
  const norm = nodes.find((node) => node.opType === 'LayerNormalization' && node.input?.[0] === top);
  if (norm === undefined) return null;
  const output = norm.output?.[0] as string;
  const exposed = (graph.output ?? []).some((graphOutput) => {
    const producer = nodes.find((node) => (node.output ?? []).includes(graphOutput.name as string));
    return graphOutput.name === output || (producer?.opType === 'Gather' && producer.input?.[0] === output);
  });
  if (!exposed) return null;
  // The scale holds one value per feature; TorchScript exports pass shared weights through an Identity.
  const initialisers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name as string, tensor]));
  let scale = norm.input?.[1] as string;
  const identity = nodes.find((node) => node.opType === 'Identity' && node.output?.[0] === scale);
  if (identity !== undefined) scale = identity.input?.[0] as string;
  const scaleTensor = initialisers.get(scale);
  if (scaleTensor === undefined)
    throw new InputError(path, `the final norm "${norm.name}" has a scale "${scale}" that is not an initialiser`);
  return { output, dim: elementCount(scaleTensor.dims) };
}

/**
 * The backbone with a new linear head, all zeros, on its final norm's CLS token: Gather(token 0)
 * then Gemm (weight [classes, dim], transB=1, and a bias) to the only graph output, "logits". The
 * refit fills it (refitHeadTensors); the backbone's own outputs (a pooler) fall away when cut.
 */
export function appendLinearHead(model: ModelProto, norm: FinalNorm, classes: number): { model: ModelProto; head: HeadLayout } {
  const graph = model.graph as GraphProto;
  const taken = new Set<string>();
  for (const node of graph.node ?? []) for (const name of [node.name ?? '', ...(node.input ?? []), ...(node.output ?? [])]) taken.add(name);
  for (const tensor of graph.initializer ?? []) taken.add(tensor.name as string);
  const fresh = (base: string) => {
    let name = base;
    for (let suffix = 2; taken.has(name); suffix++) name = `${base}_${suffix}`;
    taken.add(name);
    return name;
  };
  const [index, input, weight, bias, output] = [
    'sls.head.cls_index',
    `${norm.output}.cls`,
    'sls.head.weight',
    'sls.head.bias',
    'logits',
  ].map(fresh);
  const gemm = fresh('sls.head/Gemm');
  const node: NodeProto[] = [
    ...(graph.node ?? []),
    {
      name: fresh('sls.head/Gather'),
      opType: 'Gather',
      input: [norm.output, index],
      output: [input],
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    },
    {
      name: gemm,
      opType: 'Gemm',
      input: [input, weight, bias],
      output: [output],
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    },
  ];
  const initializer = [
    ...(graph.initializer ?? []),
    // A scalar index: Gather drops axis 1, [batch, tokens, dim] -> [batch, dim].
    { name: index, dataType: onnx.TensorProto.DataType.INT64, dims: [], int64Data: [0] },
    floatTensor(weight, [classes, norm.dim], new Float32Array(classes * norm.dim)),
    floatTensor(bias, [classes], new Float32Array(classes)),
  ];
  const logits = onnx.ValueInfoProto.create({ name: output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } });
  return {
    model: onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, node, initializer, output: [logits] }) }),
    head: { input, output, op: 'Gemm', product: output, weight, bias, weightTransposed: true, classes, dim: norm.dim },
  };
}

function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** A linear classifier over the head's input: what a refit produces. */
export interface LinearClassifier {
  /** The labels it scores, ascending; row c of `weights` scores classes[c]. */
  classes: Int32Array;
  /** [classes.length, dim], row-major. */
  weights: Float64Array;
  intercepts: Float64Array;
}

/** Bias given to classes absent from the training labels: the refit head never predicts them. */
export const ABSENT_CLASS_BIAS = -1e4;

/**
 * The head's weight and bias initialisers holding a logistic fit, laid out as the head stores
 * them; logit c scores label c. Classes the training split lacks get zero weights and
 * ABSENT_CLASS_BIAS. A head without a bias cannot hold the fit's intercepts.
 */
export function refitHeadTensors(head: HeadLayout, fit: LinearClassifier, path: string): TensorProto[] {
  const weightCount = fit.classes.length === 0 ? 0 : fit.weights.length / fit.classes.length;
  if (weightCount !== head.dim) throw new RangeError(`the fit has ${weightCount} features per class, the head reads ${head.dim}`);
  const outside = fit.classes.find((label) => label < 0 || label >= head.classes);
  if (outside !== undefined) {
    throw new InputError(
      path,
      `the training split has label ${outside}, but the head has ${head.classes} outputs (labels 0..${head.classes - 1})`,
    );
  }
  if (head.bias === null) throw new InputError(path, `the head "${head.weight}" has no bias to hold the refit intercepts`);
  const weights = new Float32Array(head.classes * head.dim);
  const bias = new Float32Array(head.classes).fill(ABSENT_CLASS_BIAS);
  fit.classes.forEach((label, row) => {
    bias[label] = fit.intercepts[row];
    for (let j = 0; j < head.dim; j++) {
      const value = fit.weights[row * head.dim + j];
      weights[head.weightTransposed ? label * head.dim + j : j * head.classes + label] = value;
    }
  });
  const weightDims = head.weightTransposed ? [head.classes, head.dim] : [head.dim, head.classes];
  return [floatTensor(head.weight, weightDims, weights), floatTensor(head.bias, [head.classes], bias)];
}
