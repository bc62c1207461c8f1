/**
 * onnxruntime sessions, built with the same tuned options everywhere (extraction, accuracy, speed
 * measurements), so that timings of two models compare.
 */
import { availableParallelism } from 'node:os';
import { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { encodeModel, type ModelProto } from './model.js';

export type ExecutionProvider = 'cpu' | 'cuda';

/**
 * One operator at a time, each spread over every core (a ViT is a chain of large matmuls: there
 * is no parallelism between operators worth a second pool); all graph optimisations (fusions of
 * attention, GELU, LayerNorm); the CPU memory arena and memory patterns, so that batches of one
 * size reuse their buffers from run to run.
 */
export function sessionOptions(provider: ExecutionProvider): InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
  };
}

/** A session over the model (whole in memory, external data included), with clear errors. */
export async function createSession(model: ModelProto, provider: ExecutionProvider, path: string): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(encodeModel(model), sessionOptions(provider));
  } catch (error) {
    const message = (error as Error).message;
    if (provider === 'cuda') {
      throw new Error(
        `the CUDA execution provider is not available on this host (${message}); install with SLS_CUDA=1 bash infra/setup.sh on a host with CUDA, or use --ep cpu`,
      );
    }
    throw new InputError(path, `onnxruntime cannot load the model: ${message}`);
  }
}
