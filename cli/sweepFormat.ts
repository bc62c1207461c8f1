/** `sls status` as text: the sweep's counts with a bar, then one row per (dataset, model, seed). */
import cliProgress from 'cli-progress';
import type { SweepProgress } from '../lib/sweep/progress.js';
import type { FailureCause } from '../workflows/failureCause.js';
import type { SweepStatus } from './sweepControl.js';

const BAR = { barsize: 30, barCompleteString: '█'.repeat(30), barIncompleteString: '░'.repeat(30), barGlue: '' };

/** The bar cli-progress draws for a fraction, as plain text (for logs and non-terminals too). */
export function progressBar(fraction: number): string {
  return cliProgress.Format.BarFormat(fraction, BAR as cliProgress.Options);
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd(),
  );
}

export function formatSweepStatus(status: SweepStatus): string {
  const finished = status.done + status.failed;
  const lines = [
    `sweep ${status.name} (${status.sweepId}): ${status.workflowStatus}`,
    `${progressBar(status.total === 0 ? 0 : finished / status.total)} ${status.done}/${status.total} done, ${status.running} running, ${status.failed} failed, ${status.pending} pending`,
  ];
  const rows = status.children.map((child) => {
    const stage = status.stages[child.childId];
    let detail = '';
    if (child.status === 'done') detail = `kept ${child.keptBlocks?.join(', ')} of ${child.blocks} blocks`;
    else if (child.status === 'failed') detail = `${child.stage ? `${child.stage}: ` : ''}${child.error ?? ''}`;
    else if (stage) detail = stage.layers > 0 ? `${stage.stage} (${stage.scored}/${stage.layers} layers scored)` : stage.stage;
    const stable = child.stable === undefined ? '-' : child.stable ? 'yes' : 'no';
    return [child.datasetName, child.modelName, String(child.seed), child.status, stable, detail];
  });
  lines.push(...table([['dataset', 'model', 'seed', 'status', 'stable', `detail (alpha ${status.alphas.join(', ')})`], ...rows]));
  return `${lines.join('\n')}\n`;
}

/** The causes of a sweep's failed children, for the exit code. */
export function failedCauses(status: SweepProgress): FailureCause[] {
  return status.children
    .filter((child) => child.status === 'failed')
    .map((child) => ({ message: child.error ?? '', stage: child.stage, file: child.file, badInput: child.badInput ?? false }));
}
