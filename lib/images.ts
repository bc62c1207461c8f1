/** Decoding and preprocessing encoded images (PNG, JPEG, ...) into a ViT's CHW float input. */
import sharp from 'sharp';
import { InputError } from './errors.js';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

export interface Preprocessing {
  height: number;
  width: number;
  /** Per-channel mean and std applied after scaling to [0, 1]. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  interpolation: Interpolation;
}

const KERNELS = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic' } as const;

/**
 * Decodes one image, resizes it to the model's input size when it differs, scales to [0, 1],
 * normalises with mean/std, and writes it as CHW float32 into `out` at `offset`.
 */
export async function decodeImageInto(
  encoded: Uint8Array,
  preprocessing: Preprocessing,
  out: Float32Array,
  offset: number,
  source: string,
): Promise<void> {
  const { height, width, mean, std } = preprocessing;
  let pixels: Buffer;
  try {
    let image = sharp(encoded);
    const { width: sourceWidth, height: sourceHeight } = await image.metadata();
    image = image.removeAlpha().toColourspace('srgb');
    if (sourceWidth !== width || sourceHeight !== height) {
      image = image.resize(width, height, { fit: 'fill', kernel: KERNELS[preprocessing.interpolation] });
    }
    pixels = await image.raw().toBuffer();
  } catch (error) {
    throw new InputError(source, `cannot decode image: ${(error as Error).message}`);
  }
  const plane = height * width;
  if (pixels.length !== plane * 3) throw new InputError(source, `decoded to ${pixels.length} bytes, expected ${plane * 3} (RGB)`);
  for (let channel = 0; channel < 3; channel++) {
    const scale = 1 / (255 * std[channel]);
    const shift = mean[channel] / std[channel];
    const base = offset + channel * plane;
    for (let pixel = 0; pixel < plane; pixel++) {
      out[base + pixel] = pixels[pixel * 3 + channel] * scale - shift;
    }
  }
}

/** Parses "a,b,c" (or a JSON array of three) into three numbers, naming the flag or key on error. */
export function parseTriple(text: string, what: string): [number, number, number] {
  const values = text
    .replace(/[[\]]/g, '')
    .split(',')
    .map((part) => Number(part.trim()));
  if (values.length !== 3 || values.some((value) => !Number.isFinite(value))) {
    throw new RangeError(`${what} must be three comma-separated numbers, got "${text}"`);
  }
  return values as [number, number, number];
}
