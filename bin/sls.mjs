#!/usr/bin/env node
// Runs the CLI: compiled JavaScript from dist/js when it is a build of the sources as they are
// (infra/compiled.mjs; setup builds it), else the TypeScript sources through tsx, resolved from
// this package, wherever it is called from.
import { fileURLToPath } from 'node:url';
import { freshCompiledCli } from '../infra/compiled.mjs';

const compiled = freshCompiledCli(fileURLToPath(new URL('..', import.meta.url)));
if (compiled) {
  await import(compiled.href);
} else {
  // Apache Arrow (about 200 modules, used by every data command) is loaded before tsx's hooks are
  // registered: through them it takes twice as long (0.28 s against 0.13 s on this machine).
  await import('apache-arrow');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
