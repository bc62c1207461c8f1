/** Decoding and preprocessing encoded images (PNG, JPEG, ...) into a ViT's CHW float input. */
import sharp from 'sharp';
import { InputError } from '../errors.js';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

export interface Preprocessing {
  height: number;
  width: number;
  /** Per-channel mean and std applied after scaling to [0, 1]. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  interpolation: Interpolation;
  /**
   * Resize the shorter side to this many pixels (keeping the aspect ratio), then take the centre
   * height x width: timm's eval transform (crop_pct < 1) and HF processors with do_center_crop.
   * Absent: resize straight to height x width (HF's ViTImageProcessor).
   */
  shorterSide?: number;
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
  const { height, width, mean, std, shorterSide } = preprocessing;
  let pixels: Buffer;
  try {
    let image = sharp(encoded);
    const { width: sourceWidth, height: sourceHeight } = await image.metadata();
    image = image.removeAlpha().toColourspace('srgb');
    const kernel = KERNELS[preprocessing.interpolation];
    if (shorterSide !== undefined) {
      // torchvision's Resize(int) then CenterCrop: the longer side truncated, the offset rounded half to even.
      const [resizedWidth, resizedHeight] =
        sourceWidth <= sourceHeight
          ? [shorterSide, Math.trunc((shorterSide * sourceHeight) / sourceWidth)]
          : [Math.trunc((shorterSide * sourceWidth) / sourceHeight), shorterSide];
      if (resizedWidth < width || resizedHeight < height)
        throw new Error(`resized to ${resizedWidth}x${resizedHeight}, smaller than the crop`);
      if (resizedWidth !== sourceWidth || resizedHeight !== sourceHeight)
        image = image.resize(resizedWidth, resizedHeight, { fit: 'fill', kernel });
      const left = roundHalfEven((resizedWidth - width) / 2);
      const top = roundHalfEven((resizedHeight - height) / 2);
      image = image.extract({ left, top, width, height });
    } else if (sourceWidth !== width || sourceHeight !== height) {
      image = image.resize(width, height, { fit: 'fill', kernel });
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

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** PIL's resampling codes, as HF image processors store them ("resample"). */
const PIL_RESAMPLE: Record<number, Interpolation> = { 0: 'nearest', 2: 'bilinear', 3: 'bicubic' };

function jsonMetadata(metadata: Record<string, string>, key: string, path: string): Record<string, unknown> | null {
  if (metadata[key] === undefined) return null;
  try {
    const value = JSON.parse(metadata[key]);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // Reported below with the key's name.
  }
  throw new InputError(path, `metadata "${key}" must be a JSON object`);
}

/** A per-channel list, or one number for every channel (HF processors allow both). */
function triple(value: unknown, what: string, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return [value, value, value].join(',');
  if (!Array.isArray(value)) throw new InputError(path, `${what} must be a list of three numbers, got ${JSON.stringify(value)}`);
  return value.join(',');
}

/** What a metadata source says; a field it does not set is undefined. */
interface Stated {
  mean?: string;
  std?: string;
  interpolation?: string;
  shorterSide?: number;
}

/** HF's preprocessor_config.json (an image processor's to_dict()). */
function fromHuggingFace(config: Record<string, unknown>, height: number, path: string): Stated {
  const what = (key: string) => `metadata "preprocessor_config".${key}`;
  const resample = config.resample as number | undefined;
  if (resample !== undefined && PIL_RESAMPLE[resample] === undefined) {
    throw new InputError(path, `${what('resample')} is PIL code ${resample}; supported: 0 (nearest), 2 (bilinear), 3 (bicubic)`);
  }
  const size = config.size as { shortest_edge?: number } | undefined;
  const crop = config.crop_size as { height?: number } | undefined;
  const normalise = config.do_normalize !== false;
  return {
    mean: normalise ? triple(config.image_mean, what('image_mean'), path) : '0,0,0',
    std: normalise ? triple(config.image_std, what('image_std'), path) : '1,1,1',
    interpolation: resample === undefined ? undefined : PIL_RESAMPLE[resample],
    // Processors that centre-crop resize the shortest edge first (scaled to the model's input size).
    shorterSide:
      config.do_center_crop === true && size?.shortest_edge && crop?.height
        ? Math.floor((size.shortest_edge * height) / crop.height)
        : undefined,
  };
}

/** timm's pretrained_cfg (or the data config timm.data.resolve_data_config returns). */
function fromTimm(config: Record<string, unknown>, height: number, path: string): Stated {
  const what = (key: string) => `metadata "pretrained_cfg".${key}`;
  const cropPct = config.crop_pct as number | undefined;
  if (cropPct !== undefined && !(cropPct > 0 && cropPct <= 1))
    throw new InputError(path, `${what('crop_pct')} must be in (0, 1], got ${cropPct}`);
  return {
    mean: triple(config.mean, what('mean'), path),
    std: triple(config.std, what('std'), path),
    interpolation: config.interpolation as string | undefined,
    shorterSide: cropPct !== undefined && cropPct < 1 ? Math.floor(height / cropPct) : undefined,
  };
}

export interface PreprocessingFlags {
  /** "a,b,c" overrides of the model's metadata. */
  mean?: string;
  std?: string;
}

export const PREPROCESSING_KEYS = 'mean/std/interpolation, "preprocessor_config" (HF, JSON) or "pretrained_cfg" (timm, JSON)';

/**
 * How to turn encoded images into the model's input. The size is the model's input (its graph
 * is authoritative); the rest comes from the flags, then from the model's metadata_props, in
 * this order: "mean"/"std"/"interpolation" (comma lists; "image_mean"/"image_std" too);
 * "preprocessor_config", the JSON of a Hugging Face preprocessor_config.json (image_mean,
 * image_std, resample as a PIL code, do_normalize, do_center_crop with size.shortest_edge and
 * crop_size); "pretrained_cfg", the JSON of a timm model's pretrained_cfg (mean, std,
 * interpolation, crop_pct). Exporters write none of these: the user (or our fixture scripts)
 * stores them. Interpolation defaults to bilinear.
 */
export function preprocessingFromMetadata(
  metadata: Record<string, string>,
  size: { height: number; width: number },
  flags: PreprocessingFlags,
  path: string,
): Preprocessing {
  const huggingFace = jsonMetadata(metadata, 'preprocessor_config', path);
  const timm = jsonMetadata(metadata, 'pretrained_cfg', path);
  const sources: Stated[] = [
    flags,
    { mean: metadata.mean ?? metadata.image_mean, std: metadata.std ?? metadata.image_std, interpolation: metadata.interpolation },
    huggingFace ? fromHuggingFace(huggingFace, size.height, path) : {},
    timm ? fromTimm(timm, size.height, path) : {},
  ];
  const first = <K extends keyof Stated>(key: K): Stated[K] => sources.find((source) => source[key] !== undefined)?.[key];
  const [mean, std] = [first('mean'), first('std')];
  if (mean === undefined || std === undefined) {
    throw new InputError(
      path,
      `encoded images need a mean and std: pass --mean a,b,c --std a,b,c or store them in the model metadata (${PREPROCESSING_KEYS})`,
    );
  }
  const interpolation = (first('interpolation') ?? 'bilinear') as Interpolation;
  if (!Object.hasOwn(KERNELS, interpolation)) {
    throw new InputError(path, `metadata asks for interpolation "${interpolation}"; supported: nearest, bilinear, bicubic`);
  }
  const shorterSide = first('shorterSide');
  const parse = (text: string, what: string) => {
    try {
      return parseTriple(text, `${what} (--${what} or the model metadata)`);
    } catch (error) {
      throw new InputError(path, (error as Error).message);
    }
  };
  return {
    ...size,
    mean: parse(mean, 'mean'),
    std: parse(std, 'std'),
    interpolation,
    ...(shorterSide === undefined ? {} : { shorterSide }),
  };
}
