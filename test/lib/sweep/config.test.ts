import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSweep, OWN_MODEL, parseSweepFile, planSweep } from '../../../lib/sweep/config.js';
import { FOLDER, MODEL, TEST_SPLIT, TRAIN, temporaryDir } from '../../helpers/fixtures.js';

const FILE = '/sweeps/night.yaml';

const VALID = `
name: night
models:
  vit: ${MODEL}
datasets:
  - name: train
    data: ${TRAIN}
  - name: test
    data: ${TEST_SPLIT}
    model: ${MODEL}
alphas: [0.3, 0.5]
seeds: [0, 1]
output: out
concurrency: 2
`;

describe('parseSweepFile', () => {
  it('reads a valid file and fills the defaults', () => {
    const sweep = parseSweepFile('name: a\nmodels: {m: m.onnx}\ndatasets: [{name: d, data: d.arrow}]\noutput: out\n', FILE);
    expect(sweep).toEqual({
      name: 'a',
      models: { m: 'm.onnx' },
      datasets: [{ name: 'd', data: 'd.arrow' }],
      alphas: [0.3],
      seeds: [0],
      repeats: 1,
      tsneGradient: 'auto',
      output: 'out',
      report: 'report',
      concurrency: 4,
    });
  });

  it.each([
    ['an unknown top-level key', `${VALID}colour: red\n`, /night\.yaml: \(top level\): unknown key "colour"/],
    ['an unknown dataset key', VALID.replace('    data: /', '    daat: x\n    data: /'), /night\.yaml: datasets\[0\]: unknown key "daat"/],
    ['alpha 0', VALID.replace('[0.3, 0.5]', '[0.3, 0]'), /night\.yaml: alphas\[1\]: alpha must be in \(0, 1\]/],
    ['alpha 1.5', VALID.replace('[0.3, 0.5]', '[1.5]'), /night\.yaml: alphas\[0\]: alpha must be in \(0, 1\]/],
    ['a fractional seed', VALID.replace('[0, 1]', '[0.5]'), /night\.yaml: seeds\[0\]: must be an integer/],
    ['concurrency 0', VALID.replace('concurrency: 2', 'concurrency: 0'), /night\.yaml: concurrency: must be at least 1/],
    ['a missing output', VALID.replace('output: out\n', ''), /night\.yaml: output: /],
    ['a name with a slash', VALID.replace('name: night', 'name: a/b'), /night\.yaml: name: must be letters/],
    ['a dataset listed twice', VALID.replace('name: test', 'name: train'), /night\.yaml: datasets\[1\]\.name: "train" is listed twice/],
    [
      'no model for a dataset',
      'name: a\ndatasets: [{name: d, data: d.arrow}]\noutput: o\n',
      /night\.yaml: datasets\[0\]\.model: dataset "d" has no model/,
    ],
    ['broken YAML', 'name: [a\n', /night\.yaml: not valid YAML/],
  ])('rejects %s, naming the file and the key', (_, text, message) => {
    expect(() => parseSweepFile(text, FILE)).toThrow(message);
  });
});

describe('planSweep', () => {
  it('makes one child per (model, dataset, seed) with absolute paths', async () => {
    const plan = await planSweep(parseSweepFile(VALID, FILE), FILE);
    // 'train' under the one listed model, 'test' under its own: 2 datasets x 1 model x 2 seeds.
    expect(plan.children.map((child) => [child.datasetName, child.modelName, child.seed])).toEqual([
      ['train', 'vit', 0],
      ['train', 'vit', 1],
      ['test', OWN_MODEL, 0],
      ['test', OWN_MODEL, 1],
    ]);
    expect(plan.outputRoot).toBe('/sweeps/out');
    expect(plan.reportDir).toBe('/sweeps/out/report');
    expect(plan.sweepId).toMatch(/^sweep-night-[0-9a-f]{16}$/);
    expect(plan.children[0].childId).toBe(`${plan.sweepId}.train.vit.s0`);
    expect(plan.children[0]).toMatchObject({ model: MODEL, data: TRAIN });
  });

  it('derives the sweep ID from content: a copied file keeps it, other parameters change it', async () => {
    const dir = temporaryDir();
    copyFileSync(MODEL, join(dir, 'copy.onnx'));
    const original = await planSweep(parseSweepFile(VALID, FILE), FILE);
    const copied = await planSweep(parseSweepFile(VALID.replaceAll(MODEL, join(dir, 'copy.onnx')), FILE), FILE);
    const otherOutput = await planSweep(
      parseSweepFile(VALID.replace('output: out', 'output: elsewhere').replace('concurrency: 2', 'concurrency: 3'), FILE),
      FILE,
    );
    const otherAlpha = await planSweep(parseSweepFile(VALID.replace('[0.3, 0.5]', '[0.3]'), FILE), FILE);
    const otherData = await planSweep(parseSweepFile(VALID.replace(`data: ${TEST_SPLIT}`, `data: ${TRAIN}`), FILE), FILE);
    expect(copied.sweepId).toBe(original.sweepId);
    expect(otherOutput.sweepId).toBe(original.sweepId);
    expect(otherAlpha.sweepId).not.toBe(original.sweepId);
    expect(otherData.sweepId).not.toBe(original.sweepId);
  });

  it('keeps the ID of a sweep without repeats for "repeats: 1", and changes it for more', async () => {
    const original = await planSweep(parseSweepFile(VALID, FILE), FILE);
    const one = await planSweep(parseSweepFile(`${VALID}repeats: 1\n`, FILE), FILE);
    const three = await planSweep(parseSweepFile(`${VALID}repeats: 3\n`, FILE), FILE);
    expect(one.sweepId).toBe(original.sweepId);
    expect(one.repeats).toBeUndefined();
    expect(three.sweepId).not.toBe(original.sweepId);
    expect(three.repeats).toBe(3);
    expect(() => parseSweepFile(`${VALID}repeats: 0\n`, FILE)).toThrow(/night\.yaml: repeats: must be at least 1/);
    expect(() => parseSweepFile(`${VALID}repeats: 2.5\n`, FILE)).toThrow(/night\.yaml: repeats: must be an integer/);
  });

  it('keeps the ID of a sweep for "tsneGradient: auto", and changes it for another gradient', async () => {
    const original = await planSweep(parseSweepFile(VALID, FILE), FILE);
    const auto = await planSweep(parseSweepFile(`${VALID}tsneGradient: auto\n`, FILE), FILE);
    const barnesHut = await planSweep(parseSweepFile(`${VALID}tsneGradient: barnes_hut\n`, FILE), FILE);
    expect(auto.sweepId).toBe(original.sweepId);
    expect(auto.tsneGradient).toBeUndefined();
    expect(barnesHut.sweepId).not.toBe(original.sweepId);
    expect(barnesHut.tsneGradient).toBe('barnes_hut');
    expect(() => parseSweepFile(`${VALID}tsneGradient: bh\n`, FILE)).toThrow(
      /night\.yaml: tsneGradient: must be one of auto, exact, barnes_hut, fft/,
    );
  });

  it('covers the images a VTAB-1k file list names: editing one changes the sweep ID', async () => {
    const dir = temporaryDir();
    for (const name of ['a.png', 'b.png']) copyFileSync(join(FOLDER, '2/000.png'), join(dir, name));
    writeFileSync(join(dir, 'train800val200.txt'), 'a.png 0\nb.png 1\n');
    const sweep = parseSweepFile(
      `name: vtab\nmodels: {vit: ${MODEL}}\ndatasets:\n  - {name: d, data: train800val200.txt}\noutput: out\n`,
      join(dir, 's.yaml'),
    );
    const before = await planSweep(sweep, join(dir, 's.yaml'));
    expect(before.children[0].data).toBe(join(dir, 'train800val200.txt'));
    copyFileSync(join(FOLDER, '8/001.png'), join(dir, 'b.png'));
    expect((await planSweep(sweep, join(dir, 's.yaml'))).sweepId).not.toBe(before.sweepId);
  });

  it('keeps the ID of a sweep without evalData as it was (users relaunch finished sweeps by it)', async () => {
    // Computed before evalData's content entered the hash; the fixtures' content, not their paths, is in it.
    expect((await planSweep(parseSweepFile(VALID, FILE), FILE)).sweepId).toBe('sweep-night-f9d0fa7f7c2ca01e');
  });

  it("hashes evalData's content, not its path: moving the tree keeps the ID, editing the eval split changes it", async () => {
    const withEval = (evalData: string) =>
      VALID.replace(`    data: ${TEST_SPLIT}\n`, `    data: ${TEST_SPLIT}\n    evalData: ${evalData}\n`);
    const [here, moved, edited] = [temporaryDir(), temporaryDir(), temporaryDir()];
    copyFileSync(TEST_SPLIT, join(here, 'eval.arrow'));
    copyFileSync(TEST_SPLIT, join(moved, 'eval.arrow'));
    const bytes = readFileSync(TEST_SPLIT);
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(join(edited, 'eval.arrow'), bytes);
    const plan = async (evalData: string) => (await planSweep(parseSweepFile(withEval(evalData), FILE), FILE)).sweepId;
    const original = await plan(join(here, 'eval.arrow'));
    expect(await plan(join(moved, 'eval.arrow'))).toBe(original);
    expect(await plan(join(edited, 'eval.arrow'))).not.toBe(original);
    expect(original).not.toBe((await planSweep(parseSweepFile(VALID, FILE), FILE)).sweepId);
  });

  it('rejects a report path outside the output root', async () => {
    await expect(planSweep(parseSweepFile(`${VALID}report: ../../etc\n`, FILE), FILE)).rejects.toThrow(
      /night\.yaml: report: "\.\.\/\.\.\/etc" leads outside the output root \/sweeps\/out/,
    );
  });

  it('names a missing model file', async () => {
    await expect(planSweep(parseSweepFile(VALID.replace(`model: ${MODEL}`, 'model: /nowhere/m.onnx'), FILE), FILE)).rejects.toThrow(
      '/nowhere/m.onnx: not found',
    );
  });

  it('loadSweep resolves paths against the sweep file', async () => {
    const dir = temporaryDir();
    copyFileSync(MODEL, join(dir, 'm.onnx'));
    copyFileSync(TRAIN, join(dir, 'd.arrow'));
    writeFileSync(join(dir, 'sweep.yaml'), 'name: s\nmodels: {m: m.onnx}\ndatasets: [{name: d, data: d.arrow}]\noutput: runs\n');
    const plan = await loadSweep(join(dir, 'sweep.yaml'));
    expect(plan.children).toEqual([
      {
        childId: `${plan.sweepId}.d.m.s0`,
        modelName: 'm',
        model: join(dir, 'm.onnx'),
        data: join(dir, 'd.arrow'),
        datasetName: 'd',
        seed: 0,
        modelOptions: {},
      },
    ]);
    // Recorded before the plan's options became one object: the ID hashes the same content.
    expect(plan.sweepId).toBe('sweep-s-67d3d12285bf96fa');
    expect(plan.repeats).toBeUndefined();
    expect(plan.outputRoot).toBe(join(dir, 'runs'));
    await expect(loadSweep(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read the sweep file/);
  });
});
