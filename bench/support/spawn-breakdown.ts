/**
 * Where one spawn's time goes, measured outside lab-server with the lab's own pieces (the bundle
 * writer, the cgroup preparation, Runc on a pty from the spawner), one spawn at a time:
 *
 *   bundle     writing config.json, hostname and hosts
 *   cgroup     making and delegating the sandbox's cgroup directories
 *   pty        opening runc's pty and asking the spawner to start runc on it (until run()
 *              returns; the start itself happens in the spawner, counted under runc)
 *   runc       until runc has made the container (state.json): namespaces, mounts, cgroup limits,
 *              and the seccomp filter, which runc compiles from config.json with libseccomp
 *   shell      until the shell prints its prompt
 *   userns     the sandbox's own user namespaces, with their caps (isolab-ns), made before runc
 *
 * and the same spawn with one piece changed, interleaved, to see what each piece costs as a
 * whole: without seccomp, without cgroup limits, one shared uid (runc makes the user namespace,
 * the rootfs without a view: no per-sandbox identity), a non-login shell, and `echo` in place of
 * a shell (runc alone).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupHost } from '../../lab-server/src/cgroups/host';
import { prepareSandboxCgroup, removeCgroupTree, sandboxCgroupDirs } from '../../lab-server/src/cgroups/sandbox-cgroup';
import { loadConfig } from '../../lab-server/src/config';
import { preflight } from '../../lab-server/src/preflight';
import { rootfsPath } from '../../lab-server/src/rootfs/stamp';
import { ensureNsHelper } from '../../lab-server/src/runtime/ns-helper';
import { mountIdmappedView } from '../../lab-server/src/runtime/readonly-view';
import { sandboxLimits } from '../../lab-server/src/runtime/oci-spec';
import { Runc } from '../../lab-server/src/runtime/runc';
import { sandboxUserNamespace } from '../../lab-server/src/runtime/userns-limits';
import { writeBundle } from '../../lab-server/src/runtime/bundle';
import { hostUidOf, identitySlotsAvailable } from '../../lab-server/src/sandbox/identity';
import { removeLabFootprint } from '../../lab-server/src/sandbox/recovery';
import { claimIdentitySlots } from '../../lab-server/src/state-lock';
import { printTable, round, summarize } from './stats';
import { PROMPT } from './terminal-clients';

type Variant = 'as the lab runs it' | 'without seccomp' | 'without cgroup limits' | 'one shared uid' | 'bash without -l' | 'echo instead of a shell';
const VARIANTS: Variant[] = ['as the lab runs it', 'without seccomp', 'without cgroup limits', 'one shared uid', 'bash without -l', 'echo instead of a shell'];
const PHASES = ['userns', 'bundle', 'cgroup', 'pty', 'runc', 'shell'] as const;

export async function spawnBreakdown(runs = Number(process.env.BENCH_BREAKDOWN_RUNS ?? 12)) {
  const name = `isolab-bench-breakdown-${process.pid}`;
  const stateDir = `/run/${name}`;
  const config = loadConfig({ ...process.env, ISOLAB_STATE_DIR: stateDir, ISOLAB_CGROUP_PARENT: name });
  const { facts } = preflight(config);
  const cgroupHost = detectCgroupHost();
  const runcPath = facts.runcPath ?? 'runc';
  const runtime = new Runc(runcPath, join(stateDir, 'runc'));
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o711);
  const nsHelper = ensureNsHelper();
  // An identity of its own, claimed as a lab claims its slots: slot 1 outright was the uid of a
  // sandbox in whichever lab on this host holds the first slots.
  const slots = claimIdentitySlots(1, identitySlotsAvailable(config.uidBase));
  const hostUid = hostUidOf(config.uidBase, slots.firstSlot);
  const view = await mountIdmappedView(nsHelper, rootfsPath(config.dataDir), join(stateDir, 'readonly', 'rootfs-1'), config.uidBase, hostUid);

  const phases: Record<string, number[]> = Object.fromEntries([...PHASES, 'total'].map((p) => [p, []]));
  const totals = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  let count = 0;

  async function spawn(variant: Variant): Promise<void> {
    const id = `brk-${String(count++).padStart(4, '0')}`;
    const bundle = join(stateDir, 'bundles', id);
    const cgroup = sandboxCgroupDirs(cgroupHost, config.cgroupParent, id);
    const shared = variant === 'one shared uid';
    const t = performance.now();
    const userns = shared ? undefined : await sandboxUserNamespace(nsHelper, hostUid);
    const t0 = performance.now();
    writeBundle(bundle, {
      sandboxId: id,
      hostname: id,
      rootfsPath: shared ? rootfsPath(config.dataDir) : view.path,
      uidBase: shared ? config.uidBase : hostUid,
      userNamespacePath: userns?.path,
      cgroupsPath: cgroup.cgroupsPath,
      cgroupMode: cgroupHost.mode,
      swapAccounting: facts.swapAccounting,
      limits: sandboxLimits(config),
    });
    if (variant !== 'as the lab runs it' && !shared) {
      const specPath = join(bundle, 'config.json');
      const spec = JSON.parse(readFileSync(specPath, 'utf8'));
      if (variant === 'without seccomp') delete spec.linux.seccomp;
      if (variant === 'without cgroup limits') spec.linux.resources = { devices: spec.linux.resources.devices };
      const args: string[] = spec.process.args;
      if (variant === 'bash without -l') spec.process.args = args.map((arg) => arg.replace('exec /bin/bash -l', 'exec /bin/bash')).filter((arg) => arg !== '-l');
      if (variant === 'echo instead of a shell') spec.process.args = ['/bin/echo', '# '];
      writeFileSync(specPath, JSON.stringify(spec));
    }
    const t1 = performance.now();
    prepareSandboxCgroup(cgroupHost, config.cgroupParent, cgroup, shared ? config.uidBase : hostUid);
    const t2 = performance.now();
    const pty = runtime.run(id, bundle, { cols: 80, rows: 24 });
    const t3 = performance.now();
    let created = 0;
    const poll = setInterval(() => {
      if (!created && existsSync(join(stateDir, 'runc', id, 'state.json'))) created = performance.now();
    }, 1);
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no prompt from ${variant}: ${JSON.stringify(text)}`)), 30_000);
      const subscription = pty.onData((data) => {
        text += data;
        if (PROMPT.test(text) || (variant === 'echo instead of a shell' && text.includes('#'))) {
          clearTimeout(timer);
          subscription.dispose();
          resolve();
        }
      });
    });
    const t5 = performance.now();
    clearInterval(poll);
    userns?.release();
    const t4 = created || t5;
    totals[variant].push(t5 - t);
    if (variant === 'as the lab runs it') {
      phases.userns.push(t0 - t);
      phases.bundle.push(t1 - t0);
      phases.cgroup.push(t2 - t1);
      phases.pty.push(t3 - t2);
      phases.runc.push(t4 - t3);
      phases.shell.push(t5 - t4);
      phases.total.push(t5 - t);
    }
    await runtime.destroy(id);
    pty.kill();
    for (const dir of cgroup.dirs) await removeCgroupTree(dir);
    rmSync(bundle, { recursive: true, force: true });
  }

  try {
    for (const variant of VARIANTS) await spawn(variant); // warm-up
    for (let i = 0; i < runs; i++) {
      // Rotate the order, so that no variant always runs on a warmer machine.
      for (let j = 0; j < VARIANTS.length; j++) await spawn(VARIANTS[(i + j) % VARIANTS.length]);
    }
  } finally {
    view.release();
    await removeLabFootprint({ stateDir, cgroupParent: config.cgroupParent, runcPath, cgroupHost });
    slots.release();
  }

  const phaseStats = Object.fromEntries(Object.entries(phases).map(([phase, values]) => [phase, summarize(values)]));
  printTable(`One spawn, phase by phase (ms, ${runs} spawns)`, ['phase', 'p50', 'p95'], [
    ...[...PHASES, 'total'].map((phase) => [phase, phaseStats[phase].p50, phaseStats[phase].p95]),
  ]);
  const base = summarize(totals['as the lab runs it']).p50;
  const variantStats = Object.fromEntries(VARIANTS.map((variant) => [variant, summarize(totals[variant])]));
  printTable(`One spawn to prompt with one piece changed (ms, ${runs} each, interleaved)`, ['variant', 'p50', 'p95', 'p50 saved'], [
    ...VARIANTS.map((variant) => [variant, variantStats[variant].p50, variantStats[variant].p95, round(base - variantStats[variant].p50)]),
  ]);
  return { phases: phaseStats, variants: variantStats };
}
