import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelDigest } from '../../../lib/onnx/model.js';
import { artifactKey, contentDigest, exists } from '../../../lib/store/artifacts.js';
import { placeIfAbsent, temporarySibling, writeFileAtomic } from '../../../lib/store/atomicWrite.js';
import { FIXTURES, MODEL, temporaryDir } from '../../helpers/fixtures.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('contentDigest', () => {
  it("is the sha256 of a file's bytes (FIPS 180 test vector for 'abc')", async () => {
    const path = join(temporaryDir(), 'abc.txt');
    writeFileSync(path, 'abc');
    expect(await contentDigest(path)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('sees a change of content even with the same size and time stamp', async () => {
    const path = join(temporaryDir(), 'weights.bin');
    writeFileSync(path, 'aaaa');
    const before = await contentDigest(path);
    writeFileSync(path, 'bbbb');
    utimesSync(path, new Date(0), new Date(0));
    expect(await contentDigest(path)).not.toBe(before);
  });

  it('hashes a directory from its relative paths and file digests', async () => {
    const dir = temporaryDir();
    mkdirSync(join(dir, 'cat'));
    writeFileSync(join(dir, 'cat', 'a.png'), 'abc');
    const expected = sha256(`cat/a.png\0${'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'}\n`);
    expect(await contentDigest(dir)).toBe(expected);
  });

  it('names a missing path', async () => {
    await expect(contentDigest('/nonexistent/file')).rejects.toThrow('/nonexistent/file: not found');
  });
});

describe('artifactKey', () => {
  it('is the shortened sha256 of the canonical JSON, keys sorted at every depth', () => {
    expect(artifactKey({ b: 1, a: { d: [1, 'x'], c: null } })).toBe(sha256('{"a":{"c":null,"d":[1,"x"]},"b":1}').slice(0, 24));
    expect(artifactKey({ a: { c: null, d: [1, 'x'] }, b: 1 })).toBe(artifactKey({ b: 1, a: { d: [1, 'x'], c: null } }));
  });

  it('ignores undefined fields and sees nested changes', () => {
    expect(artifactKey({ a: 1, b: undefined })).toBe(artifactKey({ a: 1 }));
    expect(artifactKey({ a: { b: 1 } })).not.toBe(artifactKey({ a: { b: 2 } }));
  });
});

describe('atomic writes', () => {
  it('temporarySibling is a hidden, unique name in the same directory, so the final rename stays on one filesystem', () => {
    const path = '/data/runs/abc/layer-01.arrow';
    const first = temporarySibling(path);
    expect(dirname(first)).toBe('/data/runs/abc');
    // The process id and 4 random bytes (8 hex digits) tell concurrent writers apart.
    expect(basename(first)).toMatch(new RegExp(`^\\.layer-01\\.arrow\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    expect(temporarySibling(path)).not.toBe(first);
    // A bare file name stays in the working directory.
    expect(temporarySibling('out.json')).toMatch(/^\.out\.json\.\d+\.[0-9a-f]{8}\.tmp$/);
  });

  it('writeFileAtomic leaves the whole file and no temporary behind', async () => {
    const dir = temporaryDir();
    await writeFileAtomic(join(dir, 'deep', 'out.json'), '{"ok":true}');
    expect(readFileSync(join(dir, 'deep', 'out.json'), 'utf8')).toBe('{"ok":true}');
    expect(readdirSync(join(dir, 'deep'))).toEqual(['out.json']);
    expect(await exists(join(dir, 'deep', 'out.json'))).toBe(true);
    expect(await exists(join(dir, 'deep', 'other.json'))).toBe(false);
  });

  it('placeIfAbsent moves a file or a directory into place, and never onto one already there', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'first.tmp'), 'first');
    writeFileSync(join(dir, 'second.tmp'), 'second');
    expect(await placeIfAbsent(join(dir, 'first.tmp'), join(dir, 'e.arrow'), 'file')).toBe(true);
    expect(await placeIfAbsent(join(dir, 'second.tmp'), join(dir, 'e.arrow'), 'file')).toBe(false);
    expect(readFileSync(join(dir, 'e.arrow'), 'utf8')).toBe('first');

    for (const [name, content] of [
      ['a', 'first'],
      ['b', 'second'],
    ]) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'x'), content);
    }
    expect(await placeIfAbsent(join(dir, 'a'), join(dir, 'features'), 'directory')).toBe(true);
    expect(await placeIfAbsent(join(dir, 'b'), join(dir, 'features'), 'directory')).toBe(false);
    expect(readFileSync(join(dir, 'features', 'x'), 'utf8')).toBe('first');
    await expect(placeIfAbsent(join(dir, 'missing'), join(dir, 'other'), 'file')).rejects.toThrow(/ENOENT/);
  });
});

describe('modelDigest', () => {
  it("is the file's digest for a self-contained model, and sees a change in external weights", async () => {
    expect(await modelDigest(MODEL)).toBe(await contentDigest(MODEL));
    const dir = temporaryDir();
    const source = join(FIXTURES, 'exports/hf-classifier-adapter-dynamo');
    for (const file of ['model.onnx', 'model.onnx.data']) writeFileSync(join(dir, file), readFileSync(join(source, file)));
    const before = await modelDigest(join(dir, 'model.onnx'));
    expect(before).not.toBe(await contentDigest(join(dir, 'model.onnx')));
    const weights = readFileSync(join(dir, 'model.onnx.data'));
    weights[weights.length - 1] ^= 1;
    writeFileSync(join(dir, 'model.onnx.data'), weights);
    expect(await modelDigest(join(dir, 'model.onnx'))).not.toBe(before);
  });
});
