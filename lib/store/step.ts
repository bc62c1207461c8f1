/**
 * One cached step: the artifact is named by a hash of everything that determines it, reused when
 * it matches its lineage sidecar (every file of it, and every file beside it that it needs), else
 * built and published race-safely (lineage.ts). Extract, embed and emit all go through here.
 */
import { join } from 'node:path';
import { artifactKey, STEP_VERSIONS } from './artifacts.js';
import { type BuildTarget, publishWithLineage, reuseIfIntact } from './lineage.js';

/** An input file and the digest of its content. */
export interface StepInput {
  path: string;
  sha256: string;
}

/** What determines a step's artifact, and where it lies. */
export interface StepDefinition {
  /** The artifact root. */
  root: string;
  /** The folder under the root that holds this step's artifacts. */
  kind: string;
  step: keyof typeof STEP_VERSIONS;
  /** Input files by role: their digests are part of the key. */
  inputs: Record<string, StepInput>;
  /** Part of the key and of the lineage. */
  parameters: Record<string, unknown>;
  /** Recorded in the lineage only: what the artifact is for, not what it is (embed's layer). */
  notes?: Record<string, unknown>;
  seed?: number;
  /** A directory, or a file with this extension. */
  layout: 'directory' | `.${string}`;
  /** Extensions of the artifact's own files beside it, `<key><extension>` (emit's manifest). */
  companions?: string[];
}

export interface StepArtifact {
  key: string;
  path: string;
  /** The companions' paths, in the order of `companions`. */
  companions: string[];
}

export interface StepRun extends StepDefinition {
  /** Builds the artifact and its companions at their temporary paths; `artifact` is where they will be. */
  build: (target: BuildTarget & { artifact: StepArtifact }) => Promise<void>;
  /** Hears why an artifact found on disk is rebuilt. */
  onDamaged?: (path: string, reason: string) => void;
}

export interface StepResult extends StepArtifact {
  /** True when the artifact was already there, whole, and nothing was built. */
  reused: boolean;
}

const RESERVED = new Set(['step', 'version', 'seed']);

/** The artifact's key and paths. */
export function stepArtifact(definition: StepDefinition): StepArtifact {
  const digests = Object.fromEntries(Object.entries(definition.inputs).map(([role, input]) => [role, input.sha256]));
  for (const name of Object.keys(definition.parameters)) {
    // A parameter named like an input or a reserved field would silently share a key with another artifact.
    if (RESERVED.has(name) || name in digests) throw new Error(`step ${definition.step}: parameter "${name}" collides in the key`);
  }
  const key = artifactKey({
    step: definition.step,
    version: STEP_VERSIONS[definition.step],
    ...digests,
    seed: definition.seed,
    ...definition.parameters,
  });
  const folder = join(definition.root, definition.kind);
  const extension = definition.layout === 'directory' ? '' : definition.layout;
  return {
    key,
    path: join(folder, `${key}${extension}`),
    companions: (definition.companions ?? []).map((companion) => join(folder, `${key}${companion}`)),
  };
}

/** Reuses the step's artifact if it is whole, else builds and publishes it. */
export async function runStep(run: StepRun): Promise<StepResult> {
  const artifact = stepArtifact(run);
  if (await reuseIfIntact(artifact.path, (reason) => run.onDamaged?.(artifact.path, reason))) return { ...artifact, reused: true };
  await publishWithLineage(
    artifact.path,
    run.layout === 'directory' ? 'directory' : 'file',
    (target) => run.build({ ...target, artifact }),
    {
      step: run.step,
      stepVersion: STEP_VERSIONS[run.step],
      inputs: run.inputs,
      parameters: { ...run.parameters, ...run.notes },
      seed: run.seed,
    },
    artifact.companions,
  );
  return { ...artifact, reused: false };
}
