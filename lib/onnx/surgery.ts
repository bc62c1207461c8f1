/** Graph surgery on exported ViTs: exposing block outputs, cutting the blocks above k, replacing weights. */
import type { BlockLayout } from './blocks.js';
import { elementCount, type GraphProto, type ModelProto, type NodeProto, onnx, type TensorProto } from './model.js';

function withGraph(model: ModelProto, graph: GraphProto): ModelProto {
  return onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create(graph) });
}

/** A copy of the model that also returns the named tensors (float32) as graph outputs. */
export function exposeTensors(model: ModelProto, tensors: readonly string[]): ModelProto {
  const graph = model.graph as GraphProto;
  const present = new Set((graph.output ?? []).map((output) => output.name));
  const added = tensors
    .filter((name) => !present.has(name))
    .map((name) =>
      onnx.ValueInfoProto.create({
        name,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
      }),
    );
  return withGraph(model, { ...graph, output: [...(graph.output ?? []), ...added] });
}

/** The names of the graph's nodes and tensors (initialisers, inputs, outputs): new ones must avoid them. */
function namesIn(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const node of graph.node ?? []) {
    for (const name of [node.name ?? '', ...(node.input ?? []), ...(node.output ?? [])]) names.add(name);
  }
  for (const tensor of graph.initializer ?? []) names.add(tensor.name as string);
  for (const value of [...(graph.input ?? []), ...(graph.output ?? [])]) names.add(value.name as string);
  return names;
}

/** `base`, or `base_2`, `base_3`, ...: the first not in `taken`, which it then joins. */
function freshName(base: string, taken: Set<string>): string {
  let name = base;
  for (let suffix = 2; taken.has(name); suffix++) name = `${base}_${suffix}`;
  taken.add(name);
  return name;
}

export interface ClsOutputs {
  model: ModelProto;
  /** cls[i] is the graph output holding row 0 along axis 1 of blocks[i], [batch, dim] of [batch, tokens, dim]. */
  cls: string[];
  /** shapes[i] is the graph output holding the shape of blocks[i] (int64, [batch, tokens, dim] for a ViT). */
  shapes: string[];
}

/**
 * A copy of the model that returns, for each named [batch, tokens, dim] tensor, its CLS token
 * (token 0) as a [batch, dim] graph output: Gather(tensor, indices = scalar 0, axis = 1), so that
 * the runtime hands back (and, on a GPU, copies to the host) dim values an image per block rather
 * than tokens x dim. Also returns each tensor's shape (Shape, int64, no data read), so that the
 * caller can check that it is [batch, tokens, dim] and size its batches by it.
 */
export function exposeClsTokens(model: ModelProto, tensors: readonly string[]): ClsOutputs {
  const graph = model.graph as GraphProto;
  const taken = namesIn(graph);
  const index = freshName('sls_cls_index', taken);
  const cls = tensors.map((name) => freshName(`${name}_cls`, taken));
  const shapes = tensors.map((name) => freshName(`${name}_shape`, taken));
  const nodes = tensors.flatMap((name, block) => [
    onnx.NodeProto.create({
      name: freshName(`sls_gather_cls_${block + 1}`, taken),
      opType: 'Gather',
      input: [name, index],
      output: [cls[block]],
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    }),
    onnx.NodeProto.create({
      name: freshName(`sls_shape_${block + 1}`, taken),
      opType: 'Shape',
      input: [name],
      output: [shapes[block]],
    }),
  ]);
  const output = (name: string, elemType: number) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } });
  const surgered = withGraph(model, {
    ...graph,
    node: [...(graph.node ?? []), ...nodes],
    // A scalar (no dims): Gather drops axis 1, [batch, tokens, dim] -> [batch, dim].
    initializer: [...(graph.initializer ?? []), { name: index, dataType: onnx.TensorProto.DataType.INT64, dims: [], int64Data: [0] }],
    output: [
      ...(graph.output ?? []),
      ...cls.map((name) => output(name, onnx.TensorProto.DataType.FLOAT)),
      ...shapes.map((name) => output(name, onnx.TensorProto.DataType.INT64)),
    ],
  });
  return { model: surgered, cls, shapes };
}

/** Drops every node and initialiser that no graph output depends on. */
function pruneUnused(graph: GraphProto): GraphProto {
  const nodes = graph.node ?? [];
  const needed = new Set((graph.output ?? []).map((output) => output.name as string));
  const kept: NodeProto[] = [];
  for (let index = nodes.length - 1; index >= 0; index--) {
    const node = nodes[index];
    if (!(node.output ?? []).some((output) => needed.has(output))) continue;
    kept.push(node);
    for (const input of node.input ?? []) needed.add(input);
  }
  kept.reverse();
  return {
    ...graph,
    node: kept,
    initializer: (graph.initializer ?? []).filter((tensor) => needed.has(tensor.name as string)),
    input: (graph.input ?? []).filter((input) => needed.has(input.name as string)),
    valueInfo: (graph.valueInfo ?? []).filter((info) => needed.has(info.name as string)),
  };
}

/**
 * The model with blocks 1..keptBlocks: whatever read block N's output (the final norm, then the
 * head) reads block k's output instead, and the blocks above k fall away as unused.
 */
export function truncateBlocks(model: ModelProto, layout: BlockLayout, keptBlocks: number): ModelProto {
  const blocks = layout.blockOutputs.length;
  if (!Number.isInteger(keptBlocks) || keptBlocks < 1 || keptBlocks > blocks) {
    throw new RangeError(`kept blocks must be an integer in 1..${blocks}, got ${keptBlocks}`);
  }
  const graph = model.graph as GraphProto;
  const topOutput = layout.blockOutputs[blocks - 1];
  const keptOutput = layout.blockOutputs[keptBlocks - 1];
  const rewired = (graph.node ?? []).map((node) =>
    (node.input ?? []).includes(topOutput)
      ? onnx.NodeProto.create({ ...node, input: (node.input ?? []).map((input) => (input === topOutput ? keptOutput : input)) })
      : node,
  );
  const outputs = (graph.output ?? []).map((output) =>
    output.name === topOutput ? onnx.ValueInfoProto.create({ ...output, name: keptOutput }) : output,
  );
  return withGraph(model, pruneUnused({ ...graph, node: rewired, output: outputs }));
}

/**
 * The part of the model that computes `output` from `input` alone, with `input` (float32, any
 * shape) its only graph input: between a block's output and the head, the final norm and the CLS
 * token. Null where `output` needs a graph input by another way. Shapes recorded for the whole
 * model are dropped: the part may be fed other shapes (one token instead of all).
 */
export function subgraphFrom(model: ModelProto, input: string, output: string): ModelProto | null {
  const graph = model.graph as GraphProto;
  const part = pruneUnused({
    ...graph,
    node: (graph.node ?? []).filter((node) => !(node.output ?? []).includes(input)),
    output: [onnx.ValueInfoProto.create({ name: output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })],
    valueInfo: [],
  });
  if ((part.input ?? []).length > 0) return null;
  const fed = onnx.ValueInfoProto.create({ name: input, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } });
  return withGraph(model, { ...part, input: [fed] });
}

/** Values stored in the model's initialisers (its parameters, as exported). */
export function parameterCount(model: ModelProto): number {
  return (model.graph?.initializer ?? []).reduce((count, tensor) => count + elementCount(tensor.dims), 0);
}

/**
 * The model with some initialisers' values replaced (the refit head's weights), matched by name;
 * each keeps its original shape, so a replacement must hold as many values.
 */
export function replaceInitializers(model: ModelProto, replacements: readonly TensorProto[]): ModelProto {
  const graph = model.graph as GraphProto;
  const byName = new Map(replacements.map((tensor) => [tensor.name as string, tensor]));
  const initializer = (graph.initializer ?? []).map((tensor) => {
    const replacement = byName.get(tensor.name as string);
    if (replacement === undefined) return tensor;
    byName.delete(tensor.name as string);
    if (elementCount(replacement.dims) !== elementCount(tensor.dims)) {
      throw new RangeError(
        `initialiser "${tensor.name}" holds ${elementCount(tensor.dims)} values, its replacement ${elementCount(replacement.dims)}`,
      );
    }
    return { ...replacement, dims: tensor.dims };
  });
  if (byName.size > 0) throw new RangeError(`no initialiser named ${[...byName.keys()].map((name) => `"${name}"`).join(', ')}`);
  return withGraph(model, { ...graph, initializer });
}
