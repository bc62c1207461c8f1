/**
 * The sweep commands of `sls`: sweep, status, cancel, retry, report. Their work (Temporal client,
 * report rendering) is in sweepActions.ts, loaded only when one of them runs, so that the offline
 * commands start without it.
 */
import type { Command } from 'commander';

const actions = () => import('./sweepActions.js');

export function registerSweepCommands(program: Command): void {
  program
    .command('sweep')
    .description('launch (or attach to) the sweep a YAML file describes, follow it, write OUTPUT/sweep.json')
    .argument('<file>', 'sweep file (YAML)')
    .option('--detach', 'start it and return; workers started with `sls worker` run it')
    .action(async (file: string, options: { detach?: boolean }) => (await actions()).runSweep(file, options));

  program
    .command('status')
    .description('progress of a sweep (by file or ID), or the list of sweeps')
    .argument('[sweep]', 'sweep file or sweep ID')
    .option('--json', 'machine-readable output')
    .option('--watch', 'live progress bars until the sweep ends')
    .action(async (sweep: string | undefined, options: { json?: boolean; watch?: boolean }) =>
      (await actions()).showStatus(sweep, options),
    );

  program
    .command('cancel')
    .description('cancel a sweep and its running children')
    .argument('<sweep>', 'sweep file or sweep ID')
    .action(async (sweep: string) => (await actions()).cancel(sweep));

  program
    .command('retry')
    .description('run the failed children of a sweep again (the others keep their results)')
    .argument('<sweep>', 'sweep file or sweep ID')
    .action(async (sweep: string) => (await actions()).retry(sweep));

  program
    .command('report')
    .description('write a static HTML report (with report.json and report.csv) of a sweep')
    .argument('<sweep>', 'sweep file or sweep ID')
    .option('--out <dir>', "output directory (default: the sweep file's report directory, else report-<sweep ID>)")
    .action(async (sweep: string, options: { out?: string }) => (await actions()).report(sweep, options));
}
