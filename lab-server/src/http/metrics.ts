/**
 * Prometheus metrics for operators (`GET /metrics`). One registry per lab-server instance, so
 * that tests can run several servers in one process without sharing counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class LabMetrics {
  readonly registry = new Registry();
  readonly sandboxesLive = new Gauge({ name: 'isolab_sandboxes_live', help: 'Sandboxes currently running', registers: [this.registry] });
  readonly sandboxesWarm = new Gauge({ name: 'isolab_sandboxes_warm', help: 'Warm sandboxes ready to be claimed', registers: [this.registry] });
  readonly spawnQueueWaiting = new Gauge({ name: 'isolab_spawn_queue_waiting', help: 'Learners waiting in line for a sandbox to start', registers: [this.registry] });
  readonly terminalsLive = new Gauge({ name: 'isolab_terminals_live', help: 'Terminals currently open', registers: [this.registry] });
  readonly spawnSeconds = new Histogram({
    name: 'isolab_sandbox_spawn_seconds',
    help: 'Time from a sandbox request to its shell printing its first output',
    buckets: [0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly echoSeconds = new Histogram({
    name: 'isolab_terminal_echo_seconds',
    help: "A keystroke's echo inside lab-server, by stage: shell = input written to the pty until the first output read back (pty, runc's relay, the shell, the sandbox's CPU); send = that output until it goes to the socket",
    labelNames: ['stage'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
    registers: [this.registry],
  });
  readonly refusals = new Counter({ name: 'isolab_refusals_total', help: 'Requests refused, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly oomKills = new Counter({ name: 'isolab_oom_kills_total', help: 'Processes killed by the OOM killer inside sandboxes', registers: [this.registry] });
  readonly terminalOutputChars = new Counter({ name: 'isolab_terminal_output_chars_total', help: 'Characters sent from terminals to browsers', registers: [this.registry] });
  readonly terminalInputChars = new Counter({ name: 'isolab_terminal_input_chars_total', help: 'Characters typed into terminals', registers: [this.registry] });
  readonly loopStalledSeconds = new Counter({
    name: 'isolab_loop_stalled_seconds_total',
    help: "Time lab-server's event loop was stalled (not counted against learners' grace, idle and ping clocks)",
    registers: [this.registry],
  });
  readonly leftovers = new Gauge({
    name: 'isolab_leftovers',
    help: 'What closed sandboxes left behind because teardown could not remove it (sandboxes, cgroups, processes); these sandboxes still count against ISOLAB_MAX_SANDBOXES',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly badEvents = new Counter({ name: 'isolab_bad_events_total', help: 'Socket events rejected, by error code', labelNames: ['code'] as const, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'isolab_process_' });
  }
}
