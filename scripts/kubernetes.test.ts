/**
 * The Kubernetes example (deploy/kubernetes/isolab.yaml, README "More than one machine") must at
 * least be valid: every object parses and passes the Kubernetes API schemas bundled with the
 * kubernetes-models package (no cluster, no network). Applying it to a real cluster is not tested.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LAB_SERVER_ARGS, LAB_SERVER_ENV } from '../lab-server/src/launch';

const MANIFEST = 'deploy/kubernetes/isolab.yaml';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}

const documents = parseAllDocuments(readFileSync(MANIFEST, 'utf8'));
const objects = documents.map((document) => document.toJS() as KubeObject);

/** kubernetes-models names its modules after the API group and version: apps/v1/StatefulSet, v1/Service. */
async function validate(object: KubeObject): Promise<void> {
  const module = (await import(/* @vite-ignore */ `kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  new module[object.kind](object).validate();
}

describe('the Kubernetes example', () => {
  it('parses as YAML', () => {
    expect(documents.flatMap((document) => document.errors)).toEqual([]);
  });

  it('has every piece the README describes', () => {
    const kinds = objects.map((object) => `${object.kind}/${object.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining(['StatefulSet/lab', 'Service/lab', 'StatefulSet/redis', 'Deployment/router', 'ConfigMap/router', 'Deployment/web', 'NetworkPolicy/lab', 'NetworkPolicy/redis', 'PodDisruptionBudget/lab']),
    );
  });

  it.each(objects.map((object) => [`${object.kind}/${object.metadata.name}`, object] as const))('%s passes the Kubernetes schema', async (_name, object) => {
    await expect(validate(object)).resolves.toBeUndefined();
  });

  it('the validator refuses what Kubernetes would (so a pass above means something)', async () => {
    const lab = objects.find((object) => object.kind === 'StatefulSet' && object.metadata.name === 'lab')!;
    await expect(validate({ ...lab, spec: { ...(lab.spec as object), replicas: 'three' } })).rejects.toThrow();
  });

  it('the lab pods alone are privileged, and none shares the host\'s namespaces or files', () => {
    const pods = objects.filter((object) => ['StatefulSet', 'Deployment'].includes(object.kind));
    const privileged = pods.filter((object) => JSON.stringify(object).includes('"privileged":true')).map((object) => object.metadata.name);
    expect(privileged).toEqual(['lab']);
    for (const pod of pods) expect(JSON.stringify(pod)).not.toMatch(/"host(PID|Network|IPC|Path)"/);
  });

  it('starts lab-server as `npm start` does: the same node flags and malloc settings (lab-server/src/launch.ts)', () => {
    const lab = objects.find((object) => object.kind === 'StatefulSet' && object.metadata.name === 'lab')!;
    const container = (lab as unknown as { spec: { template: { spec: { containers: Array<{ name: string; command: string[]; env: Array<{ name: string; value?: string }> }> } } } }).spec.template.spec.containers.find((c) => c.name === 'lab-server')!;
    expect(container.command).toEqual(['node', ...LAB_SERVER_ARGS]);
    // The image's jemalloc is amd64's wherever the test runs (the file says where arm64's is).
    const env = { ...LAB_SERVER_ENV, LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' };
    for (const [name, value] of Object.entries(env)) expect(container.env).toContainEqual({ name, value });
  });
});
