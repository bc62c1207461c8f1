/**
 * Finding the transformer blocks of an exported ViT: which graph tensor is block i's output
 * (the residual stream after block i, before the final norm).
 */
import { InputError } from '../errors.js';
import type { GraphProto, ModelProto, NodeProto } from './model.js';

export interface BlockLayout {
  /** blockOutputs[i - 1] is the tensor holding block i's output, for i = 1..N. */
  blockOutputs: string[];
}

/**
 * A repeated module in a module path: "layer.3", "layers.3", "blocks.3", "h.3", "resblocks.3"
 * (TorchScript exporter names such as /vit/encoder/layer.3/output/Add or /blocks/blocks.3/Add).
 */
const BLOCK_IN_PATH = /^(.*?(?:^|[/.])(?:layers?|blocks?|h|resblocks)[._](\d+))(?=[/._]|$)/;

/** Where an exporter records a node's module: the TorchScript exporter names nodes by it. */
function modulePath(node: NodeProto): string {
  return node.name ?? '';
}

interface BlockMembership {
  stack: string;
  index: number;
}

function blockOf(node: NodeProto): BlockMembership | null {
  const match = BLOCK_IN_PATH.exec(modulePath(node));
  if (!match) return null;
  const [, prefix, index] = match;
  return { stack: prefix.slice(0, prefix.length - index.length - 1), index: Number(index) };
}

const HELP = 'name the block outputs explicitly with --block-outputs t1,t2,... (tensor names, block 1 first)';

/** The largest stack of repeated blocks numbered 0..N-1. */
function chooseStack(nodes: NodeProto[], path: string): { stack: string; blocks: number } {
  const indices = new Map<string, Set<number>>();
  for (const node of nodes) {
    const membership = blockOf(node);
    if (!membership) continue;
    const seen = indices.get(membership.stack) ?? new Set<number>();
    seen.add(membership.index);
    indices.set(membership.stack, seen);
  }
  let best: { stack: string; blocks: number } | null = null;
  for (const [stack, seen] of indices) {
    const contiguous = [...seen].every((index) => index < seen.size);
    if (contiguous && (best === null || seen.size > best.blocks)) best = { stack, blocks: seen.size };
  }
  if (best === null) {
    throw new InputError(path, `no transformer blocks found (no node named like .../layer.0/..., .../blocks.0/...); ${HELP}`);
  }
  return best;
}

/** For each tensor, the indices of the nodes that read it. */
function consumersOf(nodes: NodeProto[]): Map<string, number[]> {
  const consumers = new Map<string, number[]>();
  nodes.forEach((node, index) => {
    for (const input of node.input ?? []) {
      const list = consumers.get(input) ?? [];
      list.push(index);
      consumers.set(input, list);
    }
  });
  return consumers;
}

/**
 * Block i's output is the last tensor (in the graph's topological order) that a node of block i
 * produces and something outside block i reads: the residual stream handed to block i+1.
 */
export function findBlocks(model: ModelProto, path: string): BlockLayout {
  const graph = model.graph as GraphProto;
  const nodes = graph.node ?? [];
  const { stack, blocks } = chooseStack(nodes, path);
  const nodeBlock = new Int32Array(nodes.length);
  nodes.forEach((node, index) => {
    const membership = blockOf(node);
    if (membership && membership.stack === stack) nodeBlock[index] = membership.index + 1;
  });
  const consumers = consumersOf(nodes);
  const graphOutputs = new Set((graph.output ?? []).map((output) => output.name));
  const blockOutputs: string[] = new Array(blocks).fill('');
  nodes.forEach((node, index) => {
    const block = nodeBlock[index];
    if (block === 0) return;
    for (const output of node.output ?? []) {
      const readOutside = (consumers.get(output) ?? []).some((reader) => nodeBlock[reader] !== block);
      if (readOutside || graphOutputs.has(output)) blockOutputs[block - 1] = output;
    }
  });
  const missing = blockOutputs.indexOf('');
  if (missing >= 0) {
    throw new InputError(path, `found ${blocks} blocks under "${stack}" but no output for block ${missing + 1}; ${HELP}`);
  }
  return { blockOutputs };
}

/** Block outputs named by the user, checked against the graph. */
export function namedBlocks(model: ModelProto, path: string, names: readonly string[]): BlockLayout {
  const graph = model.graph as GraphProto;
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((node, index) => {
    for (const output of node.output ?? []) producer.set(output, index);
  });
  names.forEach((name, block) => {
    if (!producer.has(name)) throw new InputError(path, `no node produces the block output "${name}" given for block ${block + 1}`);
  });
  return { blockOutputs: [...names] };
}

/** The user's block outputs where given, else the discovered ones. */
export function blockLayout(model: ModelProto, path: string, names?: readonly string[]): BlockLayout {
  return names && names.length > 0 ? namedBlocks(model, path, names) : findBlocks(model, path);
}
