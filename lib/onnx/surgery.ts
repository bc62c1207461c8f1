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
