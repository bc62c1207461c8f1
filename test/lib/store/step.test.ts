import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactKey, STEP_VERSIONS } from '../../../lib/store/artifacts.js';
import { lineageFile } from '../../../lib/store/lineage.js';
import { runStep, type StepDefinition, stepArtifact } from '../../../lib/store/step.js';
import { temporaryDir } from '../../helpers/fixtures.js';

// Published SHA-256 test vector (FIPS 180-2) of "abc".
const SHA_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

function definition(root: string): StepDefinition {
  return {
    root,
    kind: 'checkpoints',
    step: 'emit',
    inputs: { model: { path: '/m/vit.onnx', sha256: SHA_ABC } },
    parameters: { alpha: 0.3 },
    notes: { layer: 4 },
    layout: '.onnx',
    companions: ['.json'],
  };
}

describe('stepArtifact', () => {
  it('keys the artifact by the step, its version, the input digests, the seed and the parameters, not the notes', () => {
    const root = temporaryDir();
    // The key as artifactKey defines it (canonical JSON, sorted keys), with emit's current version.
    const key = artifactKey({ alpha: 0.3, model: SHA_ABC, seed: 5, step: 'emit', version: STEP_VERSIONS.emit });
    expect(stepArtifact({ ...definition(root), seed: 5 })).toEqual({
      key,
      path: join(root, 'checkpoints', `${key}.onnx`),
      companions: [join(root, 'checkpoints', `${key}.json`)],
    });
    expect(stepArtifact({ ...definition(root), seed: 5, notes: { layer: 9 } }).key).toBe(key);
    expect(stepArtifact({ ...definition(root), layout: 'directory' }).path).toBe(
      join(root, 'checkpoints', stepArtifact(definition(root)).key),
    );
  });

  it('refuses a parameter that would share its name with an input or a reserved field', () => {
    const root = temporaryDir();
    expect(() => stepArtifact({ ...definition(root), parameters: { model: 'x' } })).toThrow(/parameter "model" collides/);
    expect(() => stepArtifact({ ...definition(root), parameters: { seed: 1 } })).toThrow(/parameter "seed" collides/);
  });
});

describe('runStep', () => {
  /** A checkpoint-like step: a model file, its manifest beside it, and a shared content-addressed file. */
  function checkpointStep(root: string, log: string[]) {
    return {
      ...definition(root),
      build: async ({ temporary, companions: [manifest], references }: Parameters<Parameters<typeof runStep>[0]['build']>[0]) => {
        log.push('build');
        writeFileSync(temporary, 'graph');
        writeFileSync(manifest, '{"accuracy":0.9}');
        const shared = join(root, 'checkpoints', 'tensors', SHA_ABC);
        mkdirSync(join(root, 'checkpoints', 'tensors'), { recursive: true });
        writeFileSync(shared, 'abc');
        references.add(shared);
      },
    };
  }

  it('builds once, then reuses what it built, with a sidecar naming what made it', async () => {
    const root = temporaryDir();
    const log: string[] = [];
    const first = await runStep(checkpointStep(root, log));
    expect(first.reused).toBe(false);
    expect(readFileSync(first.path, 'utf8')).toBe('graph');
    expect(readFileSync(first.companions[0], 'utf8')).toBe('{"accuracy":0.9}');
    const lineage = JSON.parse(readFileSync(lineageFile(first.path), 'utf8'));
    expect(lineage).toMatchObject({
      step: 'emit',
      stepVersion: STEP_VERSIONS.emit,
      parameters: { alpha: 0.3, layer: 4 },
      files: [{ path: '', size: 5 }],
      companions: [
        { path: `${first.key}.json`, size: 16 },
        { path: `tensors/${SHA_ABC}`, size: 3, sha256: SHA_ABC },
      ],
    });
    expect(await runStep(checkpointStep(root, log))).toEqual({ ...first, reused: true });
    expect(log).toEqual(['build']);
    expect(readdirSync(join(root, 'checkpoints')).sort()).toEqual([
      `${first.key}.json`,
      `${first.key}.onnx`,
      `${first.key}.onnx.lineage.json`,
      'tensors',
    ]);
  });

  it('rebuilds when a shared file it references is damaged, or its manifest is', async () => {
    const root = temporaryDir();
    const log: string[] = [];
    const damaged: string[] = [];
    const step = { ...checkpointStep(root, log), onDamaged: (_: string, reason: string) => damaged.push(reason) };
    const { path, companions } = await runStep(step);
    const shared = join(root, 'checkpoints', 'tensors', SHA_ABC);
    writeFileSync(shared, 'abd');
    expect((await runStep(step)).reused).toBe(false);
    expect(readFileSync(shared, 'utf8')).toBe('abc');
    writeFileSync(companions[0], '{"accuracy":1.0}');
    expect((await runStep(step)).reused).toBe(false);
    expect(log).toEqual(['build', 'build', 'build']);
    expect(damaged).toEqual([
      `${shared} does not match the sha256 in its sidecar`,
      `${companions[0]} does not match the sha256 in its sidecar`,
    ]);
    expect(readFileSync(path, 'utf8')).toBe('graph');
  });
});
