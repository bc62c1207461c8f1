import { execFileSync } from 'node:child_process';

/** Debian's chromium (infra/setup.sh installs it), or SLS_CHROMIUM; playwright-core drives it. */
export function chromiumExecutable(): string {
  if (process.env.SLS_CHROMIUM) return process.env.SLS_CHROMIUM;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error("no chromium found: run `npm run setup` (it installs Debian's chromium) or set SLS_CHROMIUM");
  }
}
