/**
 * Writes a sandbox's OCI bundle: config.json plus the files it bind-mounts (hostname, hosts),
 * as Docker does for /etc/hostname and /etc/hosts. The rootfs is not copied: config.json points
 * at the shared read-only one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSpec, type SpecInput } from './oci-spec';

export function writeBundle(bundleDir: string, input: Omit<SpecInput, 'files'>): void {
  mkdirSync(bundleDir, { recursive: true, mode: 0o700 });
  const files = { hostname: join(bundleDir, 'hostname'), hosts: join(bundleDir, 'hosts'), config: join(bundleDir, 'config.json') };
  writeFileSync(files.hostname, `${input.hostname}\n`);
  writeFileSync(files.hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${input.hostname}\n`);
  writeFileSync(files.config, JSON.stringify(generateSpec({ ...input, files }), null, 2) + '\n');
}
