import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { temporalConfig } from '../../workers/config.js';

const WORKERS = fileURLToPath(new URL('../../infra/k8s/workers.yaml', import.meta.url));

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    template: {
      spec: {
        containers: Array<{ args: string[]; resources: { requests: Record<string, string | number> } }>;
        volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
      };
    };
  };
}

const manifests = parseAllDocuments(readFileSync(WORKERS, 'utf8')).map((document) => document.toJSON() as Manifest);

describe('infra/k8s/workers.yaml', () => {
  it('configures workers through the variables workers/config.ts reads', () => {
    const configMap = manifests.find((manifest) => manifest.kind === 'ConfigMap');
    const config = temporalConfig(configMap?.data ?? {});
    expect(config).toMatchObject({
      address: 'temporal-frontend.temporal.svc.cluster.local:7233',
      namespace: 'sls',
      taskQueues: { gpu: 'sls-gpu', cpu: 'sls-cpu' },
      artifactRoot: '/artifacts',
    });
  });

  it('runs one Deployment per queue, the GPU one with a GPU, both on the shared artifact volume', () => {
    const deployments = manifests.filter((manifest) => manifest.kind === 'Deployment');
    expect(deployments.map((deployment) => [deployment.metadata.labels?.queue, deployment.spec?.template.spec.containers[0].args])).toEqual(
      [
        ['sls-gpu', ['worker', 'gpu']],
        ['sls-cpu', ['worker', 'cpu']],
      ],
    );
    const [gpu, cpu] = deployments.map((deployment) => deployment.spec?.template.spec);
    expect(gpu?.containers[0].resources.requests['nvidia.com/gpu']).toBe(1);
    expect(cpu?.containers[0].resources.requests['nvidia.com/gpu']).toBeUndefined();
    for (const spec of [gpu, cpu]) {
      expect(spec?.volumes.find((volume) => volume.name === 'artifacts')?.persistentVolumeClaim?.claimName).toBe('sls-artifacts');
    }
  });
});
