import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chosenLayers,
  curveSpec,
  type ReportRun,
  renderSvg,
  reportCsv,
  reportHtml,
  type SweepReport,
  scatterSpec,
  writeReport,
} from '../../../lib/sweep/report.js';
import { temporaryDir } from '../../helpers/fixtures.js';
import { areaVertices } from '../../helpers/svg.js';

/** The translate(x,y) of each drawn element of one mark layer, in drawing order. */
function positions(svg: string, markClass: string): Array<[number, number]> {
  const group = svg.match(new RegExp(`<g class="${markClass}[^>]*>(.*?)</g>`))?.[1] ?? '';
  return [...group.matchAll(/translate\(([-\d.]+),([-\d.]+)\)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

function expectPositions(actual: Array<[number, number]>, expected: Array<[number, number]>): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach(([x, y], i) => {
    expect(x).toBeCloseTo(expected[i][0], 9);
    expect(y).toBeCloseTo(expected[i][1], 9);
  });
}

function fill(svg: string, markClass: string): string[] {
  const group = svg.match(new RegExp(`<g class="${markClass}[^>]*>(.*?)</g>`))?.[1] ?? '';
  return [...group.matchAll(/fill="(#[0-9a-f]+)"/g)].map((m) => m[1]);
}

const DONE: ReportRun = {
  datasetName: 'eurosat',
  modelName: 'vit',
  seed: 0,
  status: 'done',
  scores: [0.1, 0.2, 0.3, 0.5, 0.6, 0.8],
  // T = 0.5 * 0.8 = 0.4: SC_5, SC_4 >= 0.4, SC_3 = 0.3 < 0.4, so blocks 1..4 are kept.
  decisions: [{ alpha: 0.5, threshold: 0.4, keptBlocks: 4, failedLayer: 3, reason: 'SC_3 = 0.3 < T = 0.4: blocks 1..4 kept' }],
  checkpoints: [
    {
      alpha: 0.5,
      keptBlocks: 4,
      parametersKept: 700,
      parametersTotal: 1000,
      accuracy: { full: 0.959, prunedOriginalHead: 0.557, prunedRefitHead: 0.9412 },
    },
  ],
  scatters: [{ layer: 6, x: [10, 20, 30], y: [5, 15, 10], labels: [0, 1, 1] }],
};

const FAILED: ReportRun = {
  datasetName: 'svhn',
  modelName: 'own',
  seed: 1,
  status: 'failed',
  error: '/d/svhn.arrow: the dataset has one class (label <0>), "sic"',
  scores: [],
  decisions: [],
  checkpoints: [],
  scatters: [],
};

const REPORT: SweepReport = { sweepId: 'sweep-n-01', name: 'n', alphas: [0.5], createdAt: '2026-01-01T00:00:00Z', runs: [DONE, FAILED] };

describe('chosenLayers', () => {
  it('is the failed layer, the last kept block and the top block, without repeats', () => {
    expect(chosenLayers(12, { alpha: 0.3, threshold: 0.1, keptBlocks: 8, failedLayer: 7, reason: '' })).toEqual([7, 8, 12]);
    expect(chosenLayers(6, { alpha: 0.3, threshold: -0.1, keptBlocks: 6, failedLayer: null, reason: '' })).toEqual([6]);
  });
});

describe('curveSpec rendered by renderSvg', () => {
  it('places every score, the threshold and the cut where the scales put them', async () => {
    const svg = await renderSvg(curveSpec(DONE));
    // x: 0.5..6.5 over 360 px, so block i at (i - 0.5) * 60. y: 0..0.8 (vega's nice zero-based domain) over 220 px.
    expectPositions(positions(svg, 'mark-symbol role-mark layer_1_marks'), [
      [30, 192.5],
      [90, 165],
      [150, 137.5],
      [210, 82.5],
      [270, 55],
      [330, 0],
    ]);
    expect(fill(svg, 'mark-symbol role-mark layer_1_marks')).toEqual(['#1f77b4', '#1f77b4', '#1f77b4', '#1f77b4', '#bbbbbb', '#bbbbbb']);
    // T = 0.4 halfway up; the cut between blocks 4 and 5: 4 * 60 = 240.
    expectPositions(positions(svg, 'mark-rule role-mark layer_2_marks'), [[360, 110]]);
    expectPositions(positions(svg, 'mark-rule role-mark layer_3_marks'), [[240, 0]]);
  });
});

describe('curveSpec with two alphas', () => {
  it('draws a threshold and a cut for each', async () => {
    // alpha 0.9: T = 0.72, SC_5 = 0.6 < 0.72, so blocks 1..6 are kept: the cut at 6.5, the right edge.
    const decisions = [...DONE.decisions, { alpha: 0.9, threshold: 0.72, keptBlocks: 6, failedLayer: 5, reason: '' }];
    const svg = await renderSvg(curveSpec({ ...DONE, decisions }));
    // y: 0.4 and 0.72 of 0.8 over 220 px; x: 4 * 60 and 6 * 60.
    expectPositions(positions(svg, 'mark-rule role-mark layer_2_marks'), [
      [360, 110],
      [360, 22],
    ]);
    expectPositions(positions(svg, 'mark-rule role-mark layer_3_marks'), [
      [240, 0],
      [360, 0],
    ]);
  });
});

const REPEATED: ReportRun = {
  ...DONE,
  // Layer 1 was scored by one seed only: no mean, no band there.
  scores: [null, 0.2, 0.3, 0.5, 0.6, 0.8],
  repeats: {
    seeds: [0, 2462723854, 1020716019],
    spread: [null, 0.1, 0.1, 0.2, 0.05, 0.1],
    cuts: [{ alpha: 0.5, keptBlocks: [4, 4, 5], distribution: { 4: 2, 5: 1 }, stable: false }],
    stable: false,
  },
};

describe('curveSpec with repeats', () => {
  it('draws the mean curve over a band of +-1 spread, with T', async () => {
    const svg = await renderSvg(curveSpec(REPEATED));
    // y: 0..0.9 (the band's top, 0.8 + 0.1) over 220 px, y(v) = 220 (1 - v / 0.9); x: block i at (i - 0.5) * 60.
    const y = (value: number) => 220 * (1 - value / 0.9);
    const expected = [
      [90, y(0.1)],
      [150, y(0.2)],
      [210, y(0.3)],
      [270, y(0.55)],
      [330, y(0.7)],
      [330, y(0.9)],
      [270, y(0.65)],
      [210, y(0.7)],
      [150, y(0.4)],
      [90, y(0.3)],
    ];
    // A path's coordinates are rounded to 3 decimals.
    const [vertices] = areaVertices(svg);
    expect(vertices).toHaveLength(expected.length);
    vertices.forEach(([px, py], i) => {
      expect(px).toBeCloseTo(expected[i][0], 3);
      expect(py).toBeCloseTo(expected[i][1], 2);
    });
    // The curve's points and T = 0.4 on the same scale, one layer on.
    expectPositions(positions(svg, 'mark-symbol role-mark layer_2_marks').slice(0, 1), [[90, y(0.2)]]);
    expectPositions(positions(svg, 'mark-rule role-mark layer_3_marks'), [[360, y(0.4)]]);
  });

  it('has no band without repeats', async () => {
    expect(await renderSvg(curveSpec(DONE))).not.toContain('mark-area');
  });
});

describe('scatterSpec rendered by renderSvg', () => {
  it('min-max scales each axis to [0, 1] before drawing', async () => {
    const svg = await renderSvg(scatterSpec(DONE.scatters[0], 100));
    // x 10, 20, 30 -> 0, 0.5, 1; y 5, 15, 10 -> 0, 1, 0.5; SVG y grows downwards.
    expectPositions(positions(svg, 'mark-symbol role-mark marks'), [
      [0, 100],
      [50, 0],
      [100, 50],
    ]);
    expect(svg).toContain('block 6');
  });
});

describe('reportCsv', () => {
  it('writes one row per run and alpha, quoting cells with commas or quotes', () => {
    expect(reportCsv(REPORT)).toBe(
      [
        'dataset,model,seed,status,blocks,alpha,sc_top,threshold,kept_blocks,failed_layer,parameters_total,parameters_kept,accuracy_full,accuracy_pruned_old_head,accuracy_pruned_refit,error,stable,repeat_kept_blocks',
        'eurosat,vit,0,done,6,0.5,0.8,0.4,4,3,1000,700,0.959,0.557,0.9412,,,',
        'svhn,own,1,failed,,,,,,,,,,,,"/d/svhn.arrow: the dataset has one class (label <0>), ""sic""",,',
        '',
      ].join('\n'),
    );
  });
});

describe('reportCsv with repeats', () => {
  it("writes whether a run's repeats agree and what each kept", () => {
    expect(reportCsv({ ...REPORT, runs: [REPEATED] }).split('\n')[1]).toBe(
      'eurosat,vit,0,done,6,0.5,0.8,0.4,4,3,1000,700,0.959,0.557,0.9412,,false,4 4 5',
    );
  });
});

describe('reportHtml', () => {
  it('says per run whether its repeats agree, and draws the band', async () => {
    const html = await reportHtml({ ...REPORT, runs: [REPEATED, DONE] });
    expect(html).toContain('<td>no (3 seeds)</td>');
    expect(html).toContain('<td>-</td>');
    expect(html).toContain(
      "unstable over 3 t-SNE seeds (0, 2462723854, 1020716019): the cut is the mean curve's; each seed alone keeps alpha 0.5: 4, 4, 5 blocks",
    );
    expect(html.match(/class="mark-area/g)).toHaveLength(1);
  });

  it('has the summary table, a curve and the scatters per finished run, and escapes errors', async () => {
    const html = await reportHtml(REPORT);
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html).toContain('<td>4 / 6</td>');
    expect(html).toContain('<td>700 / 1,000 (70.0%)</td>');
    expect(html).toContain('<td>95.9% / 55.7% / 94.1%</td>');
    expect(html).toContain('failed: /d/svhn.arrow: the dataset has one class (label &lt;0&gt;), &quot;sic&quot;');
    expect(html).not.toContain('<0>');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('writeReport', () => {
  it('writes index.html, report.json and report.csv into the directory', async () => {
    const dir = join(temporaryDir(), 'report');
    const paths = await writeReport(REPORT, dir);
    expect(paths).toEqual({ html: join(dir, 'index.html'), json: join(dir, 'report.json'), csv: join(dir, 'report.csv') });
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(REPORT);
    expect(readFileSync(paths.csv, 'utf8').split('\n')[1]).toBe('eurosat,vit,0,done,6,0.5,0.8,0.4,4,3,1000,700,0.959,0.557,0.9412,,,');
    expect(readFileSync(paths.html, 'utf8')).toMatch(/^<!doctype html>/);
  });
});
