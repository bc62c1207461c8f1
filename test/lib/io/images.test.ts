import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImageInto, type Preprocessing, parseTriple, preprocessingFromMetadata } from '../../../lib/io/images.js';

const RGB_2X2 = Buffer.from([255, 0, 0, /**/ 0, 255, 0, /**/ 0, 0, 255, /**/ 51, 102, 204]);

async function png(raw: Buffer, width: number, height: number, channels: 1 | 3 | 4): Promise<Uint8Array> {
  return sharp(raw, { raw: { width, height, channels } }).png().toBuffer();
}

const unit: Preprocessing = { height: 2, width: 2, mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear' };

describe('decodeImageInto', () => {
  it('writes CHW floats scaled to [0, 1] and normalised per channel', async () => {
    const out = new Float32Array(1 + 12);
    await decodeImageInto(await png(RGB_2X2, 2, 2, 3), { ...unit, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] }, out, 1, 'a.png');
    const expected = [
      // R plane: (v/255 - 0.5) / 0.5
      1,
      -1,
      -1,
      51 / 255 / 0.5 - 1,
      // G plane: (v/255 - 0.25) / 0.25
      -1,
      3,
      -1,
      (102 / 255 - 0.25) / 0.25,
      // B plane: (v/255) / 2
      0,
      0,
      0.5,
      204 / 255 / 2,
    ];
    expect(out[0]).toBe(0);
    Array.from(out.subarray(1)).forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index], 6);
    });
  });

  it('turns grey and RGBA images into RGB', async () => {
    const grey = new Float32Array(12);
    await decodeImageInto(await png(Buffer.from([0, 51, 102, 255]), 2, 2, 1), unit, grey, 0, 'grey.png');
    expect(Array.from(grey.subarray(0, 4)).map((v) => Math.round(v * 255))).toEqual([0, 51, 102, 255]);
    expect(grey.subarray(4, 8)).toEqual(grey.subarray(0, 4));
    const rgba = new Float32Array(12);
    await decodeImageInto(
      await png(Buffer.from([10, 20, 30, 255, 10, 20, 30, 0, 10, 20, 30, 9, 10, 20, 30, 99]), 2, 2, 4),
      unit,
      rgba,
      0,
      'a.png',
    );
    expect(Array.from(rgba).map((v) => Math.round(v * 255))).toEqual([10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]);
  });

  it("resizes to the model's input size when the image differs", async () => {
    const out = new Float32Array(3 * 16);
    await decodeImageInto(await png(RGB_2X2, 2, 2, 3), { ...unit, height: 4, width: 4, interpolation: 'nearest' }, out, 0, 'a.png');
    // Nearest neighbour 2x2 -> 4x4: each source pixel becomes a 2x2 block.
    expect(Array.from(out.subarray(0, 16)).map((v) => Math.round(v * 255))).toEqual([
      255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 51, 51, 0, 0, 51, 51,
    ]);
  });

  it('takes the centre of an image whose shorter side is already the one asked for', async () => {
    // 2 wide, 4 tall, red = row index * 10: the centre 2x2 is rows 1 and 2 (offset (4 - 2) / 2).
    const rows = Buffer.from([0, 0, 0, 0, 0, 0, 10, 0, 0, 10, 0, 0, 20, 0, 0, 20, 0, 0, 30, 0, 0, 30, 0, 0]);
    const out = new Float32Array(12);
    await decodeImageInto(await png(rows, 2, 4, 3), { ...unit, shorterSide: 2 }, out, 0, 'tall.png');
    expect(Array.from(out.subarray(0, 4)).map((v) => Math.round(v * 255))).toEqual([10, 10, 20, 20]);
  });

  it('resizes the shorter side, then crops the centre (timm crop_pct)', async () => {
    // Nearest 2x2 -> 4x4 makes 2x2 blocks; the centre 2x2 (offset 1, 1) holds one pixel of each block.
    const out = new Float32Array(12);
    await decodeImageInto(await png(RGB_2X2, 2, 2, 3), { ...unit, interpolation: 'nearest', shorterSide: 4 }, out, 0, 'a.png');
    expect(Array.from(out.subarray(0, 4)).map((v) => Math.round(v * 255))).toEqual([255, 0, 0, 51]);
    expect(Array.from(out.subarray(8, 12)).map((v) => Math.round(v * 255))).toEqual([0, 0, 255, 204]);
  });

  it('decodes JPEG, close to the original pixels', async () => {
    const flat = Buffer.alloc(8 * 8 * 3, 0);
    for (let i = 0; i < flat.length; i += 3) flat.set([200, 100, 50], i);
    const jpeg = await sharp(flat, { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const out = new Float32Array(3 * 64);
    await decodeImageInto(jpeg, { ...unit, height: 8, width: 8 }, out, 0, 'a.jpg');
    expect(Math.abs(out[0] * 255 - 200)).toBeLessThan(4);
    expect(Math.abs(out[64] * 255 - 100)).toBeLessThan(4);
    expect(Math.abs(out[128] * 255 - 50)).toBeLessThan(4);
  });

  it('names the file it cannot decode', async () => {
    await expect(decodeImageInto(new TextEncoder().encode('nope'), unit, new Float32Array(12), 0, 'x/broken.png')).rejects.toThrow(
      /x\/broken\.png: cannot decode image/,
    );
  });
});

describe('parseTriple', () => {
  it('parses comma lists and JSON arrays', () => {
    expect(parseTriple('0.485,0.456,0.406', 'mean')).toEqual([0.485, 0.456, 0.406]);
    expect(parseTriple('[0.5, 0.5, 0.5]', 'std')).toEqual([0.5, 0.5, 0.5]);
  });

  it('names the flag on bad input', () => {
    expect(() => parseTriple('1,2', '--mean')).toThrow('--mean must be three comma-separated numbers, got "1,2"');
    expect(() => parseTriple('a,b,c', '--std')).toThrow(/--std must be three/);
  });
});

describe('preprocessingFromMetadata', () => {
  const size = { height: 224, width: 224 };
  const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

  it("reads timm's pretrained_cfg: crop_pct 0.875 at 224 resizes the shorter side to floor(224 / 0.875) = 256", () => {
    const pretrained = JSON.stringify({ ...imagenet, interpolation: 'bicubic', crop_pct: 0.875, input_size: [3, 224, 224] });
    expect(preprocessingFromMetadata({ pretrained_cfg: pretrained }, size, {}, 'm.onnx')).toEqual({
      ...size,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      interpolation: 'bicubic',
      shorterSide: 256,
    });
    const full = JSON.stringify({ ...imagenet, crop_pct: 1 });
    expect(preprocessingFromMetadata({ pretrained_cfg: full }, size, {}, 'm.onnx').shorterSide).toBeUndefined();
  });

  it("reads HF's preprocessor_config: PIL resample codes, do_normalize, centre crops", () => {
    const vit = { image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], resample: 3, size: { height: 224, width: 224 } };
    expect(preprocessingFromMetadata({ preprocessor_config: JSON.stringify(vit) }, size, {}, 'm.onnx')).toEqual({
      ...size,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      interpolation: 'bicubic',
    });
    // One number stands for every channel.
    const scalar = { ...vit, image_mean: 0.5, image_std: 0.25 };
    expect(preprocessingFromMetadata({ preprocessor_config: JSON.stringify(scalar) }, size, {}, 'm.onnx')).toMatchObject({
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    });
    const raw = { ...vit, do_normalize: false, resample: 0 };
    expect(preprocessingFromMetadata({ preprocessor_config: JSON.stringify(raw) }, size, {}, 'm.onnx')).toMatchObject({
      mean: [0, 0, 0],
      std: [1, 1, 1],
      interpolation: 'nearest',
    });
    // DeiT-style: shortest edge 256, centre crop 224.
    const deit = { ...vit, do_center_crop: true, size: { shortest_edge: 256 }, crop_size: { height: 224, width: 224 } };
    expect(preprocessingFromMetadata({ preprocessor_config: JSON.stringify(deit) }, size, {}, 'm.onnx').shorterSide).toBe(256);
  });

  it('puts the flags first, then plain keys, then the JSON configs; bilinear by default', () => {
    const metadata = { mean: '0.1,0.2,0.3', std: '1,1,1', pretrained_cfg: JSON.stringify({ ...imagenet, interpolation: 'bicubic' }) };
    expect(preprocessingFromMetadata(metadata, size, { std: '2,2,2' }, 'm.onnx')).toMatchObject({
      mean: [0.1, 0.2, 0.3],
      std: [2, 2, 2],
      interpolation: 'bicubic',
    });
    expect(preprocessingFromMetadata({}, size, { mean: '0,0,0', std: '1,1,1' }, 'm.onnx').interpolation).toBe('bilinear');
  });

  it('names the file and the key on bad metadata', () => {
    expect(() => preprocessingFromMetadata({}, size, {}, 'm.onnx')).toThrow(
      /m\.onnx: encoded images need a mean and std: pass --mean.*pretrained_cfg/,
    );
    expect(() => preprocessingFromMetadata({ mean: '1,2', std: '1,1,1' }, size, {}, 'm.onnx')).toThrow(
      'm.onnx: mean (--mean or the model metadata) must be three comma-separated numbers, got "1,2"',
    );
    expect(() => preprocessingFromMetadata({ pretrained_cfg: '{not json' }, size, {}, 'm.onnx')).toThrow(
      'm.onnx: metadata "pretrained_cfg" must be a JSON object',
    );
    const lanczos = JSON.stringify({ image_mean: [0, 0, 0], image_std: [1, 1, 1], resample: 1 });
    expect(() => preprocessingFromMetadata({ preprocessor_config: lanczos }, size, {}, 'm.onnx')).toThrow(
      /"preprocessor_config"\.resample is PIL code 1/,
    );
    const area = JSON.stringify({ ...imagenet, interpolation: 'area' });
    expect(() => preprocessingFromMetadata({ pretrained_cfg: area }, size, {}, 'm.onnx')).toThrow(/interpolation "area"; supported/);
    expect(() => preprocessingFromMetadata({ pretrained_cfg: JSON.stringify({ mean: 'grey', std: 0.5 }) }, size, {}, 'm.onnx')).toThrow(
      /pretrained_cfg"\.mean must be a list of three numbers, got "grey"/,
    );
  });
});
