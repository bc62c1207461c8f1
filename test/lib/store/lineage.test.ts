import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../lib/errors.js';
import {
  blameSource,
  CODE_VERSION,
  lineageFile,
  type Provenance,
  publishWithLineage,
  reuseIfIntact,
  verifyArtifact,
} from '../../../lib/store/lineage.js';
import { temporaryDir } from '../../helpers/fixtures.js';

// Published SHA-256 test vectors (FIPS 180-2): "abc" and the empty string.
const SHA_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const PROVENANCE: Provenance = {
  step: 'embed',
  stepVersion: 1,
  inputs: { features: { path: '/f/layer-01.arrow', sha256: SHA_EMPTY } },
  parameters: { perplexity: 30 },
  seed: 7,
};

function publishFile(path: string, content: string): Promise<boolean> {
  return publishWithLineage(path, 'file', async ({ temporary }) => writeFileSync(temporary, content), PROVENANCE);
}

describe('publishWithLineage', () => {
  it('writes a file and a sidecar with what made it and the file size and sha256', async () => {
    const artifact = join(temporaryDir(), 'nested', 'e.arrow');
    const before = Date.now();
    await publishFile(artifact, 'abc');
    expect(readFileSync(artifact, 'utf8')).toBe('abc');
    const lineage = JSON.parse(readFileSync(lineageFile(artifact), 'utf8'));
    expect(lineage).toMatchObject({ ...PROVENANCE, codeVersion: 'sls@0.1.0', files: [{ path: '', size: 3, sha256: SHA_ABC }] });
    expect(CODE_VERSION).toBe('sls@0.1.0');
    expect(Date.parse(lineage.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(await verifyArtifact(artifact)).toBeNull();
    // No temporary file is left next to it.
    expect(readdirSync(join(artifact, '..')).sort()).toEqual(['e.arrow', 'e.arrow.lineage.json']);
  });

  it('lists every file of a directory artifact, sorted, relative to it', async () => {
    const artifact = join(temporaryDir(), 'features');
    await publishWithLineage(
      artifact,
      'directory',
      async ({ temporary }) => {
        mkdirSync(join(temporary, 'sub'));
        writeFileSync(join(temporary, 'sub', 'b'), '');
        writeFileSync(join(temporary, 'a'), 'abc');
      },
      PROVENANCE,
    );
    expect(JSON.parse(readFileSync(lineageFile(artifact), 'utf8')).files).toEqual([
      { path: 'a', size: 3, sha256: SHA_ABC },
      { path: 'sub/b', size: 0, sha256: SHA_EMPTY },
    ]);
    expect(await verifyArtifact(artifact)).toBeNull();
  });

  it('leaves nothing behind when the build fails', async () => {
    const dir = temporaryDir();
    const artifact = join(dir, 'e.arrow');
    await expect(
      publishWithLineage(
        artifact,
        'file',
        async () => {
          throw new Error('out of memory');
        },
        PROVENANCE,
      ),
    ).rejects.toThrow('out of memory');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('verifyArtifact and reuseIfIntact', () => {
  it('catches a truncated file by its size, and removes it with its sidecar', async () => {
    const artifact = join(temporaryDir(), 'e.arrow');
    await publishFile(artifact, 'abc');
    writeFileSync(artifact, 'ab');
    expect(await verifyArtifact(artifact)).toBe(`${artifact} has 2 bytes, its sidecar says 3`);
    const reasons: string[] = [];
    expect(await reuseIfIntact(artifact, (reason) => reasons.push(reason))).toBe(false);
    expect(reasons).toEqual([`${artifact} has 2 bytes, its sidecar says 3`]);
    expect(existsSync(artifact)).toBe(false);
    expect(existsSync(lineageFile(artifact))).toBe(false);
  });

  it('catches changed bytes of the same size by their sha256', async () => {
    const artifact = join(temporaryDir(), 'e.arrow');
    await publishFile(artifact, 'abc');
    writeFileSync(artifact, 'abd');
    expect(await verifyArtifact(artifact)).toBe(`${artifact} does not match the sha256 in its sidecar`);
  });

  it('treats an artifact without a sidecar as damaged, and a whole one as reusable', async () => {
    const dir = temporaryDir();
    const orphan = join(dir, 'orphan.arrow');
    writeFileSync(orphan, 'abc');
    expect(await verifyArtifact(orphan)).toBe('no readable lineage sidecar');
    expect(await reuseIfIntact(orphan)).toBe(false);
    expect(existsSync(orphan)).toBe(false);

    const whole = join(dir, 'whole.arrow');
    await publishFile(whole, 'abc');
    expect(await reuseIfIntact(whole)).toBe(true);
    expect(readFileSync(whole, 'utf8')).toBe('abc');
  });

  it('catches a missing or an extra file in a directory artifact', async () => {
    const artifact = join(temporaryDir(), 'features');
    await publishWithLineage(artifact, 'directory', async ({ temporary }) => writeFileSync(join(temporary, 'a'), 'abc'), PROVENANCE);
    writeFileSync(join(artifact, 'stray'), 'x');
    expect(await verifyArtifact(artifact)).toBe('the artifact holds files its sidecar does not list');
    await reuseIfIntact(artifact);
    expect(await verifyArtifact(artifact)).toBe('no readable lineage sidecar');
  });
});

describe('blameSource', () => {
  it('re-addresses an error found in an artifact to the dataset it was made from, through every step', async () => {
    const root = temporaryDir();
    const features = join(root, 'features');
    const extract: Provenance = {
      step: 'extract',
      stepVersion: 1,
      inputs: { model: { path: '/m/vit.onnx', sha256: SHA_ABC }, data: { path: '/d/eurosat.arrow', sha256: SHA_EMPTY } },
      parameters: {},
    };
    await publishWithLineage(
      features,
      'directory',
      async ({ temporary }) => writeFileSync(join(temporary, 'layer-01.arrow'), 'abc'),
      extract,
    );
    const layer = join(features, 'layer-01.arrow');

    const inFeatures = await blameSource(new InputError(layer, 'feature 3 of sample 5 is NaN'));
    expect(inFeatures.file).toBe('/d/eurosat.arrow');
    expect(inFeatures.message).toBe(
      `/d/eurosat.arrow: feature 3 of sample 5 is NaN (found in ${layer}; extract made it from this data with model /m/vit.onnx)`,
    );

    const embedding = join(root, 'e.arrow');
    await publishWithLineage(embedding, 'file', async ({ temporary }) => writeFileSync(temporary, 'xy'), {
      ...PROVENANCE,
      inputs: { features: { path: layer, sha256: SHA_ABC } },
    });
    const inEmbedding = await blameSource(new InputError(embedding, 'one class'));
    expect(inEmbedding.message).toBe(
      `/d/eurosat.arrow: one class (found in ${embedding}; embed made it from this features) (found in ${layer}; extract made it from this data with model /m/vit.onnx)`,
    );
  });

  it('leaves an error about a file without lineage as it is', async () => {
    const error = new InputError('/d/user.arrow', 'not found');
    expect(await blameSource(error)).toBe(error);
  });
});

describe('publishWithLineage under a race', () => {
  /** A directory artifact whose summary differs per writer, as extract.json's timing does. */
  const build =
    (who: string) =>
    async ({ temporary }: { temporary: string }) => {
      writeFileSync(join(temporary, 'layer-01.arrow'), 'features');
      writeFileSync(join(temporary, 'summary.json'), `{"writer":"${who}"}`);
    };

  it('leaves the first writer whole when a second one finishes its build after it published', async () => {
    const artifact = join(temporaryDir(), 'features');
    let firstPublished: () => void = () => {};
    const published = new Promise<void>((resolve) => {
      firstPublished = resolve;
    });
    const second = publishWithLineage(
      artifact,
      'directory',
      async ({ temporary }) => {
        await published;
        await build('second')({ temporary });
      },
      PROVENANCE,
    );
    await publishWithLineage(artifact, 'directory', build('first'), PROVENANCE);
    firstPublished();
    await second;
    expect(readFileSync(join(artifact, 'summary.json'), 'utf8')).toBe('{"writer":"first"}');
    expect(await verifyArtifact(artifact)).toBeNull();
    expect(readdirSync(join(artifact, '..')).sort()).toEqual(['features', 'features.lineage.json']);
  });

  it('leaves one whole artifact when writers publish at once, files and directories, in separate processes', async () => {
    const dir = temporaryDir();
    const script = join(dir, 'publish.mts');
    const lineageModule = new URL('../../../lib/store/lineage.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { publishWithLineage } from ${JSON.stringify(lineageModule)};
const [kind, artifact, who, start] = process.argv.slice(2);
const provenance = { step: 'extract', stepVersion: 1, inputs: {}, parameters: {} };
for (let round = 0; round < 20; round++) {
  const target = artifact + '-' + round;
  await publishWithLineage(target, kind, async ({ temporary }) => {
    const file = kind === 'directory' ? join(temporary, 'summary.json') : temporary;
    writeFileSync(file, who + ' '.repeat(Number(who.length) * round));
    // Both writers leave the build at the same wall-clock instant, to collide on the publication.
    while (Date.now() < Number(start) + 20 * round) {}
  }, provenance);
}
`,
    );
    const { spawn } = await import('node:child_process');
    const run = (kind: string, who: string, start: number) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, kind, join(dir, kind), who, String(start)], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`))));
      });
    for (const kind of ['directory', 'file']) {
      const start = Date.now() + 3000;
      await Promise.all([run(kind, 'one', start), run(kind, 'other', start)]);
      for (let round = 0; round < 20; round++) expect(await verifyArtifact(join(dir, `${kind}-${round}`))).toBeNull();
    }
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp') || name.startsWith('.'))).toEqual([]);
  }, 60_000);
});
