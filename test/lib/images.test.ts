import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImageInto, type Preprocessing, parseTriple } from '../../lib/images.js';

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
