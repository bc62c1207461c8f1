import { describe, expect, it } from 'vitest';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import { multiplyAdds } from '../../../lib/onnx/flops.js';
import { loadModel } from '../../../lib/onnx/model.js';
import { truncateBlocks } from '../../../lib/onnx/surgery.js';
import { MODEL } from '../../helpers/fixtures.js';

/**
 * The fixture ViT by hand (make_model_fixtures.py): 16x16 images, 4x4 patches, so T = 16 + 1
 * tokens of width D = 64, 4 heads, MLP width 128, adapters of width 8, 10 classes.
 */
const T = 17;
const D = 64;
const PATCH_EMBEDDING = 16 * D * (3 * 4 * 4); // Conv: 16 output positions x 64 channels x 48 inputs each
const PER_BLOCK =
  3 * T * D * D + // Q, K, V projections
  T * T * D + // Q K^T over 4 heads of 16
  T * T * D + // attention x V
  T * D * D + // output projection
  T * D * 128 + // MLP fc1
  T * 128 * D + // MLP fc2
  T * D * 8 + // adapter down
  T * 8 * D; // adapter up
const HEAD = D * 10; // Gemm on the CLS token only

describe('multiplyAdds', () => {
  it('counts the Conv, MatMul and Gemm multiply-adds of one image, as computed by hand', async () => {
    const model = await loadModel(MODEL);
    expect(await multiplyAdds(model, MODEL)).toEqual({
      total: PATCH_EMBEDDING + 6 * PER_BLOCK + HEAD,
      byOp: { Conv: PATCH_EMBEDDING, MatMul: 6 * PER_BLOCK, Gemm: HEAD },
    });
    const pruned = truncateBlocks(model, findBlocks(model, MODEL), 2);
    expect((await multiplyAdds(pruned, MODEL)).total).toBe(PATCH_EMBEDDING + 2 * PER_BLOCK + HEAD);
  });
});
