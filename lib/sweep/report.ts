/**
 * The sweep report: one static HTML page (plots as inline SVG drawn by vega-lite + vega in Node,
 * nothing fetched when it opens), plus the same numbers as JSON and CSV.
 */
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CutDecision } from '../decide/cutRule.js';
import type { RepeatCuts } from '../decide/repeats.js';
import { minMaxScale } from '../score/silhouette.js';
import { writeFileAtomic } from '../store/atomicWrite.js';

export interface ReportScatter {
  layer: number;
  x: number[];
  y: number[];
  labels: number[];
}

export interface ReportCheckpoint {
  alpha: number;
  keptBlocks: number;
  parametersKept: number;
  parametersTotal: number;
  /** On the held-out split, when the sweep names one (evalData); (a) and (b) null for a backbone exported without a head. */
  accuracy: { full: number | null; prunedOriginalHead: number | null; prunedRefitHead: number } | null;
}

/** One (model, dataset, seed) of the sweep. */
export interface ReportRun {
  datasetName: string;
  modelName: string;
  seed: number;
  status: 'done' | 'failed' | 'pending' | 'running';
  error?: string;
  /** SC_1..SC_N (null where not scored); empty unless done. */
  scores: Array<number | null>;
  decisions: CutDecision[];
  checkpoints: ReportCheckpoint[];
  scatters: ReportScatter[];
  /** For runs with more than one t-SNE seed per layer: `scores` is then the mean curve. */
  repeats?: ReportRepeats;
}

export interface ReportRepeats {
  seeds: number[];
  /** Sample standard deviation of each layer's repeats (null where not every repeat was scored). */
  spread: Array<number | null>;
  cuts: RepeatCuts[];
  stable: boolean;
}

export interface SweepReport {
  sweepId: string;
  name: string;
  alphas: number[];
  createdAt: string;
  runs: ReportRun[];
}

const WIDTH = 360;
const HEIGHT = 220;

/** The layers worth seeing as scatters: the top one, the last kept one and the one that failed. */
export function chosenLayers(blocks: number, decision: CutDecision): number[] {
  const layers = new Set([blocks, decision.keptBlocks]);
  if (decision.failedLayer !== null) layers.add(decision.failedLayer);
  return [...layers].sort((a, b) => a - b);
}

/**
 * The SC curve, blocks kept at the first alpha in blue and pruned in grey, T and the cut per alpha
 * as rules; with repeats, the mean curve over a band of +-1 spread (drawn first, underneath).
 */
export function curveSpec(run: ReportRun): TopLevelSpec {
  const [first] = run.decisions;
  const points = run.scores.flatMap((sc, index) =>
    sc === null ? [] : [{ layer: index + 1, sc, part: index + 1 <= first.keptBlocks ? 'kept' : 'pruned' }],
  );
  const spread = run.repeats?.spread;
  const band = spread && {
    data: {
      values: run.scores.flatMap((sc, index) => {
        const deviation = spread[index];
        return sc === null || deviation === null ? [] : [{ layer: index + 1, low: sc - deviation, high: sc + deviation }];
      }),
    },
    mark: { type: 'area' as const, color: '#1f77b4', opacity: 0.2 },
    encoding: {
      x: { field: 'layer', type: 'quantitative' as const },
      y: { field: 'low', type: 'quantitative' as const },
      y2: { field: 'high' },
    },
  };
  return {
    width: WIDTH,
    height: HEIGHT,
    config: { aria: false },
    layer: [
      ...(band ? [band] : []),
      {
        data: { values: points },
        mark: { type: 'line', color: '#888' },
        encoding: {
          x: {
            field: 'layer',
            type: 'quantitative',
            title: 'block',
            scale: { domain: [0.5, run.scores.length + 0.5] },
            axis: { tickMinStep: 1 },
          },
          y: { field: 'sc', type: 'quantitative', title: 'SC (silhouette of the t-SNE)' },
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'layer', type: 'quantitative' },
          y: { field: 'sc', type: 'quantitative' },
          color: { field: 'part', type: 'nominal', title: null, scale: { domain: ['kept', 'pruned'], range: ['#1f77b4', '#bbbbbb'] } },
        },
      },
      {
        data: { values: run.decisions.map((decision) => ({ threshold: decision.threshold })) },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#d62728' },
        encoding: { y: { field: 'threshold', type: 'quantitative' } },
      },
      {
        // One cut per alpha (equal cuts overlap), between the last kept block and the first pruned one;
        // the x domain runs half a block past both ends so that keeping every block stays in view.
        data: { values: run.decisions.map((decision) => ({ cut: decision.keptBlocks + 0.5 })) },
        mark: { type: 'rule', color: '#2ca02c', strokeWidth: 2 },
        encoding: { x: { field: 'cut', type: 'quantitative' } },
      },
    ],
  };
}

/** A layer's t-SNE, min-max scaled to [0, 1] on both axes as the score sees it, coloured by class. */
export function scatterSpec(scatter: ReportScatter, size = 220): TopLevelSpec {
  const points = new Float64Array(scatter.x.length * 2);
  scatter.x.forEach((x, i) => {
    points[2 * i] = x;
    points[2 * i + 1] = scatter.y[i];
  });
  const scaled = minMaxScale(points, 2);
  const values = scatter.labels.map((label, i) => ({ x: scaled[2 * i], y: scaled[2 * i + 1], label: String(label) }));
  return {
    width: size,
    height: size,
    title: `block ${scatter.layer}`,
    config: { aria: false },
    data: { values },
    mark: { type: 'circle', size: 12, opacity: 0.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, axis: null },
      y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] }, axis: null },
      color: { field: 'label', type: 'nominal', title: 'class' },
    },
  };
}

/** Renders a vega-lite spec to an SVG string in Node, without a browser or the network. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const CSV_COLUMNS = [
  'dataset',
  'model',
  'seed',
  'status',
  'blocks',
  'alpha',
  'sc_top',
  'threshold',
  'kept_blocks',
  'failed_layer',
  'parameters_total',
  'parameters_kept',
  'accuracy_full',
  'accuracy_pruned_old_head',
  'accuracy_pruned_refit',
  'error',
  'stable',
  'repeat_kept_blocks',
] as const;

function csvCell(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row per (run, alpha); a run that did not finish gets one row with its status and error. */
export function reportCsv(report: SweepReport): string {
  const rows = report.runs.flatMap((run) => {
    const base = { dataset: run.datasetName, model: run.modelName, seed: run.seed, status: run.status, error: run.error };
    if (run.decisions.length === 0) return [base];
    return run.decisions.map((decision, index) => ({
      ...base,
      blocks: run.scores.length,
      alpha: decision.alpha,
      sc_top: run.scores[run.scores.length - 1],
      threshold: decision.threshold,
      kept_blocks: decision.keptBlocks,
      failed_layer: decision.failedLayer,
      parameters_total: run.checkpoints[index]?.parametersTotal,
      parameters_kept: run.checkpoints[index]?.parametersKept,
      accuracy_full: run.checkpoints[index]?.accuracy?.full,
      accuracy_pruned_old_head: run.checkpoints[index]?.accuracy?.prunedOriginalHead,
      accuracy_pruned_refit: run.checkpoints[index]?.accuracy?.prunedRefitHead,
      stable: run.repeats && String(run.repeats.cuts[index].stable),
      repeat_kept_blocks: run.repeats?.cuts[index].keptBlocks.join(' '),
    }));
  });
  const lines = rows.map((row) =>
    CSV_COLUMNS.map((column) => csvCell((row as Partial<Record<string, string | number | null>>)[column])).join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...lines].join('\n')}\n`;
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

/** Held-out accuracy: full model, pruned with the old head, pruned with the refit head. */
function accuracyText(accuracy: ReportCheckpoint['accuracy']): string {
  if (!accuracy) return '-';
  return [accuracy.full, accuracy.prunedOriginalHead, accuracy.prunedRefitHead]
    .map((value) => (value === null ? '-' : `${(100 * value).toFixed(1)}%`))
    .join(' / ');
}

/** The decision under repeats in words: the mean curve's cut, and what each repeat would keep. */
function repeatsText(repeats: ReportRepeats): string {
  const cuts = repeats.cuts.map((cut) => `alpha ${cut.alpha}: ${cut.keptBlocks.join(', ')}`).join('; ');
  return `${repeats.stable ? 'stable' : 'unstable'} over ${repeats.seeds.length} t-SNE seeds (${repeats.seeds.join(', ')}): the cut is the mean curve's; each seed alone keeps ${cuts} blocks`;
}

function runTitle(run: ReportRun): string {
  return `${run.datasetName} · ${run.modelName} · seed ${run.seed}`;
}

function summaryTable(report: SweepReport): string {
  const header = [
    'dataset',
    'model',
    'seed',
    'status',
    ...report.alphas.map((alpha) => `kept (alpha ${alpha})`),
    'stable over repeats',
    'parameters after / before',
    'accuracy full / pruned, old head / refit',
  ];
  const rows = report.runs.map((run) => {
    const kept = report.alphas.map((alpha) => {
      const decision = run.decisions.find((d) => d.alpha === alpha);
      return decision ? `${decision.keptBlocks} / ${run.scores.length}` : '-';
    });
    const first = run.checkpoints[0];
    const size = first
      ? `${first.parametersKept.toLocaleString('en')} / ${first.parametersTotal.toLocaleString('en')} (${percent(first.parametersKept, first.parametersTotal)})`
      : '-';
    const status = run.status === 'failed' ? `failed: ${run.error ?? ''}` : run.status;
    const stable = run.repeats ? `${run.repeats.stable ? 'yes' : 'no'} (${run.repeats.seeds.length} seeds)` : '-';
    return [run.datasetName, run.modelName, String(run.seed), status, ...kept, stable, size, accuracyText(first?.accuracy ?? null)];
  });
  const cells = (row: string[], tag: string) => row.map((cell) => `<${tag}>${escapeHtml(cell)}</${tag}>`).join('');
  return `<table class="summary"><thead><tr>${cells(header, 'th')}</tr></thead><tbody>${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('\n')}</tbody></table>`;
}

async function runSection(run: ReportRun): Promise<string> {
  if (run.status !== 'done') {
    return `<section class="run"><h2>${escapeHtml(runTitle(run))}</h2><p class="status">${escapeHtml(run.status)}${run.error ? `: ${escapeHtml(run.error)}` : ''}</p></section>`;
  }
  const [first] = run.decisions;
  const checkpoint = run.checkpoints[0];
  const facts = [
    `kept ${first.keptBlocks} of ${run.scores.length} blocks at alpha ${first.alpha} (T = ${first.threshold.toFixed(4)})`,
    escapeHtml(first.reason),
    run.repeats ? escapeHtml(repeatsText(run.repeats)) : '',
    checkpoint
      ? `parameters: ${checkpoint.parametersTotal.toLocaleString('en')} before, ${checkpoint.parametersKept.toLocaleString('en')} after (${percent(checkpoint.parametersKept, checkpoint.parametersTotal)})`
      : '',
    checkpoint?.accuracy
      ? `held-out accuracy, full / pruned with the old head / pruned with the refit head: ${accuracyText(checkpoint.accuracy)}`
      : '',
  ].filter(Boolean);
  const curve = await renderSvg(curveSpec(run));
  const scatters = await Promise.all(run.scatters.map((scatter) => renderSvg(scatterSpec(scatter))));
  return `<section class="run"><h2>${escapeHtml(runTitle(run))}</h2>
<ul>${facts.map((fact) => `<li>${fact}</li>`).join('')}</ul>
<figure class="curve">${curve}<figcaption>SC per block${run.repeats ? ' (mean over the seeds, the band +-1 spread)' : ''}: dashed red T = alpha * SC_N, green the cut, one of each per alpha</figcaption></figure>
<div class="scatters">${scatters.map((svg) => `<figure class="scatter">${svg}</figure>`).join('')}</div>
</section>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}section.run{margin-top:2rem;border-top:1px solid #ddd}
.scatters{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:.5rem 0}`;

export async function reportHtml(report: SweepReport): Promise<string> {
  const sections = [];
  for (const run of report.runs) sections.push(await runSection(run));
  const done = report.runs.filter((run) => run.status === 'done').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`sweep ${report.name}`)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(`sweep ${report.name}`)}</h1>
<p>${escapeHtml(report.sweepId)}: ${done} of ${report.runs.length} runs done; alphas ${report.alphas.join(', ')}; made ${escapeHtml(report.createdAt)}</p>
${summaryTable(report)}
${sections.join('\n')}
</body></html>
`;
}

export const REPORT_FILES = { html: 'index.html', json: 'report.json', csv: 'report.csv' } as const;

/** Writes the page, the JSON and the CSV into `dir`; returns their paths. */
export async function writeReport(report: SweepReport, dir: string): Promise<Record<keyof typeof REPORT_FILES, string>> {
  const paths = {
    html: join(dir, REPORT_FILES.html),
    json: join(dir, REPORT_FILES.json),
    csv: join(dir, REPORT_FILES.csv),
  };
  await writeFileAtomic(paths.html, await reportHtml(report));
  await writeFileAtomic(paths.json, `${JSON.stringify(report)}\n`);
  await writeFileAtomic(paths.csv, reportCsv(report));
  return paths;
}
