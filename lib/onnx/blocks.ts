/**
 * Finding the transformer blocks of an exported ViT: which graph tensor is block i's output
 * (the residual stream after block i, before the final norm).
 */
import { InputError } from '../errors.js';
import { type GraphProto, type ModelProto, metadataMap, type NodeProto } from './model.js';

export interface BlockLayout {
  /** blockOutputs[i - 1] is the tensor holding block i's output, for i = 1..N. */
  blockOutputs: string[];
}

/**
 * A repeated module in a module path: "layer.3", "layers.3", "blocks.3", "h.3", "resblocks.3"
 * (/vit/encoder/layer.3/output/Add, /blocks/blocks.3/Add, vit.layers.3.attention.q_proj).
 */
const BLOCK_IN_PATH = /^(.*?(?:^|[/.])(?:layers?|blocks?|h|resblocks)[._](\d+))(?=[/._]|$)/;

/**
 * The module a node belongs to. The TorchScript exporter names nodes by module path
 * (/vit/layers.0/attention/MatMul). The dynamo exporter names them opaquely (node_MatMul_30) and
 * records the path in the node's metadata, "namespace" (torch 2.13 and 2.14 alike):
 * ": <root class>/vit: <class>/vit.layers.0: <class>/.../<op name>: <aten op>", each module
 * named by its full path, so the deepest module is the second-to-last scope.
 */
function modulePath(node: NodeProto, byMetadata: boolean): string | null {
  if (!byMetadata) return node.name ?? null;
  const namespace = metadataMap(node.metadataProps).namespace;
  if (namespace === undefined) return null;
  const scopes = namespace.split('/').map((scope) => scope.split(': ')[0]);
  return scopes.length > 1 ? scopes[scopes.length - 2] : '';
}

/** Where a node sits: in block `index` of `stack`, outside every block, or unknown (no path recorded). */
type BlockMembership = { stack: string; index: number } | 'outside' | 'unknown';

function blockOf(path: string | null): BlockMembership {
  if (path === null) return 'unknown';
  const match = BLOCK_IN_PATH.exec(path);
  if (!match) return 'outside';
  const [, prefix, index] = match;
  return { stack: prefix.slice(0, prefix.length - index.length - 1), index: Number(index) };
}

/** Each node's membership: by the dynamo exporter's metadata where the graph has it, else by name. */
function memberships(nodes: NodeProto[]): BlockMembership[] {
  const byMetadata = nodes.some((node) => metadataMap(node.metadataProps).namespace !== undefined);
  return nodes.map((node) => blockOf(modulePath(node, byMetadata)));
}

const HELP = 'name the block outputs explicitly with --block-outputs t1,t2,... (tensor names, block 1 first)';

/** The largest stack of repeated blocks numbered 0..N-1. */
function chooseStack(members: BlockMembership[], path: string): { stack: string; blocks: number } {
  const indices = new Map<string, Set<number>>();
  for (const membership of members) {
    if (typeof membership === 'string') continue;
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
    throw new InputError(
      path,
      `no transformer blocks found (no node whose module path, in its name or its "namespace" metadata, is like .../layers.0/... or blocks.0...); ${HELP}`,
    );
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

const UNKNOWN = -1;

/**
 * Block i's output is the last tensor (in the graph's topological order) that a node of block i
 * produces and a node known to lie outside block i reads: the residual stream handed to block
 * i+1. Nodes with no recorded module (some that the dynamo exporter's optimiser adds) are no
 * evidence either way.
 */
export function findBlocks(model: ModelProto, path: string): BlockLayout {
  const graph = model.graph as GraphProto;
  const nodes = graph.node ?? [];
  const members = memberships(nodes);
  const { stack, blocks } = chooseStack(members, path);
  // 1..N for block members, 0 for every other known node.
  const nodeBlock = Int32Array.from(members, (membership) => {
    if (membership === 'unknown') return UNKNOWN;
    return typeof membership !== 'string' && membership.stack === stack ? membership.index + 1 : 0;
  });
  const consumers = consumersOf(nodes);
  const graphOutputs = new Set((graph.output ?? []).map((output) => output.name));
  const blockOutputs: string[] = new Array(blocks).fill('');
  nodes.forEach((node, index) => {
    const block = nodeBlock[index];
    if (block <= 0) return;
    for (const output of node.output ?? []) {
      const readOutside = (consumers.get(output) ?? []).some((reader) => nodeBlock[reader] !== block && nodeBlock[reader] !== UNKNOWN);
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
