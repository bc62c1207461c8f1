/**
 * Multiply-adds of one image through a model: the MatMul, Gemm and Conv nodes, whose cost
 * dominates a ViT (the element-wise ops, softmax and norms are left out). Shapes come from the
 * graph as onnxruntime runs it on one image, so dynamic shapes (tokens, batch) are resolved.
 *   MatMul [..., M, K] x [..., K, N]: output elements * K
 *   Gemm   [M, K] x [K, N]:           M * N * K
 *   Conv   weight [Cout, Cin/groups, kH, kW]: output elements * Cin/groups * kH * kW
 * FLOPs are about twice the multiply-adds.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { elementCount, encodeModel, type GraphProto, imageInput, int64, type ModelProto, type NodeProto } from './model.js';
import { exposeTensors } from './surgery.js';

export interface MultiplyAdds {
  total: number;
  byOp: { MatMul: number; Gemm: number; Conv: number };
}

const COUNTED = new Set(['MatMul', 'Gemm', 'Conv']);

function attributeInt(node: NodeProto, name: string): number {
  return int64((node.attribute ?? []).find((entry) => entry.name === name)?.i);
}

/** Multiply-adds per image of the model's MatMul, Gemm and Conv nodes. */
export async function multiplyAdds(model: ModelProto, path: string): Promise<MultiplyAdds> {
  const graph = model.graph as GraphProto;
  const counted = (graph.node ?? []).filter((node) => COUNTED.has(node.opType ?? ''));
  const initialiserDims = new Map((graph.initializer ?? []).map((tensor) => [tensor.name as string, (tensor.dims ?? []).map(int64)]));
  const computed = [...new Set(counted.flatMap((node) => [node.input?.[0], node.input?.[1], node.output?.[0]]))].filter(
    (name): name is string => !!name && !initialiserDims.has(name),
  );
  const input = imageInput(model, path);
  const batch = input.fixedBatch ?? 1;
  // Unoptimised, so every exposed tensor keeps its name and shape.
  const session = await InferenceSession.create(encodeModel(exposeTensors(model, computed)), { graphOptimizationLevel: 'disabled' });
  const images = new Tensor('float32', new Float32Array(batch * input.channels * input.height * input.width), [
    batch,
    input.channels,
    input.height,
    input.width,
  ]);
  const results = await session.run({ [input.name]: images }, computed);
  await session.release();
  const shape = (name: string): number[] => initialiserDims.get(name) ?? (results[name]?.dims as number[]);

  const byOp = { MatMul: 0, Gemm: 0, Conv: 0 };
  for (const node of counted) {
    const [a, b] = node.input ?? [];
    const out = shape(node.output?.[0] as string);
    const outputs = elementCount(out);
    const aShape = shape(a);
    if (node.opType === 'MatMul') {
      byOp.MatMul += outputs * aShape[aShape.length - 1];
    } else if (node.opType === 'Gemm') {
      byOp.Gemm += outputs * (attributeInt(node, 'transA') === 1 ? aShape[0] : aShape[1]);
    } else {
      const weight = shape(b);
      if (weight.length < 3) throw new InputError(path, `Conv "${node.name}" has a weight of shape [${weight.join(', ')}]`);
      byOp.Conv += outputs * elementCount(weight.slice(1));
    }
  }
  const perImage = { MatMul: byOp.MatMul / batch, Gemm: byOp.Gemm / batch, Conv: byOp.Conv / batch };
  return { total: perImage.MatMul + perImage.Gemm + perImage.Conv, byOp: perImage };
}
