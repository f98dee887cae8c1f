/**
 * Handlers for the learner's own sandboxes, terminals and checks. Every lookup goes through the
 * caller's session, so another session's ids behave exactly like ids that do not exist.
 */
import { LabError } from '../errors';
import type { LabMetrics } from '../http/metrics';
import type { Lab } from '../sandbox/lab';
import type { Sandbox } from '../sandbox/sandbox';
import type { LabTerminal, TerminalViewer } from '../sandbox/terminal';
import type { AddressLimits } from './address-limits';
import type { HandlerSet, LabSocket } from './handler-types';

/** A place under a limit wider than this node (the class's, over several nodes: cluster/wiring.ts). */
export interface SandboxPlaces {
  /** Takes a place or refuses with a LabError; the ticket keeps it for the sandbox, or gives it back. */
  reserve(): Promise<{ started(sandboxId: string): void; release(): void }>;
}

export function labHandlers(lab: Lab, limits: AddressLimits, options: { checkTimeoutMs: number; metrics?: LabMetrics; classPlaces?: SandboxPlaces }): HandlerSet {
  let opening = 0;
  /**
   * Each socket's attaches in flight (`terminal:open` with a terminalId). A new shell asked for on
   * the same socket starts after them: its `runc exec` (a synchronous spawn here, then runc's own
   * CPU) must never hold up the screen of a terminal the learner is waiting at, i.e. the first
   * prompt of a lesson with two terminals.
   */
  const attaching = new WeakMap<LabSocket, Set<Promise<unknown>>>();

  return {
    requests: {
      'sandbox:open': async (socket, { key }) => {
        const instructor = socket.data.role === 'instructor';
        const running = lab.forSession(socket.data.session.id).some((s) => s.key === key && s.state === 'running');
        // Sessions are free to make, so sandboxes are also counted per address; the instructor's are not.
        const slot = instructor || running ? undefined : limits.reserveSandbox(socket.data.address);
        let classPlace: Awaited<ReturnType<SandboxPlaces['reserve']>> | undefined;
        try {
          // A closed lab says so (lab.open below) rather than that the class is full.
          classPlace = instructor || running || !lab.acceptingNew ? undefined : await options.classPlaces?.reserve();
        } catch (error) {
          slot?.release();
          throw error;
        }
        // A learner who goes away while waiting in line gives the place up.
        const left = new AbortController();
        const place = `sandbox:open#${++opening}`;
        socket.data.scope.hold(place, () => left.abort());
        try {
          const sandbox = await lab.open(socket.data.session, key, {
            ignoreClosed: instructor,
            signal: left.signal,
            onQueued: (ahead) => socket.emit('sandbox:queue', { key, ahead }),
          });
          if (sandbox.state === 'running') {
            slot?.started(sandbox.id);
            classPlace?.started(sandbox.id);
          }
          return sandbox.info();
        } finally {
          socket.data.scope.forget(place);
          slot?.release();
          classPlace?.release();
        }
      },

      'sandbox:list': (socket) => lab.forSession(socket.data.session.id).filter((s) => s.state === 'running').map((s) => s.info()),

      'sandbox:close': async (socket, { sandboxId }) => {
        await lab.close(lab.find(socket.data.session.id, sandboxId), 'closed');
        return {};
      },

      'terminal:open': async (socket, { sandboxId, terminalId, cols, rows }) => {
        if (terminalId) {
          const inFlight = attaching.get(socket) ?? new Set();
          attaching.set(socket, inFlight);
          const attached = attachTerminal(socket, lab.find(socket.data.session.id, sandboxId), terminalId, cols, rows);
          inFlight.add(attached);
          try {
            return await attached;
          } finally {
            inFlight.delete(attached);
          }
        }
        const pending = attaching.get(socket);
        if (pending && pending.size > 0) await Promise.allSettled([...pending]);
        // Checked after the wait too: the sandbox may have ended meanwhile.
        const sandbox = lab.find(socket.data.session.id, sandboxId);
        return attachTerminal(socket, sandbox, undefined, cols, rows);
      },

      'terminal:close': async (socket, { terminalId }) => {
        const { sandbox, terminal } = lab.findTerminal(socket.data.session.id, terminalId);
        // The run terminal is the sandbox's init: closing it is closing the sandbox.
        if (terminal.kind === 'run') await lab.close(sandbox, 'closed');
        else sandbox.closeTerminal(terminalId);
        return {};
      },

      'check:run': (socket, { sandboxId, command, timeoutMs }) =>
        lab.find(socket.data.session.id, sandboxId).runCheck(command, timeoutMs ?? options.checkTimeoutMs),
    },

    messages: {
      'terminal:input': (socket, { terminalId, data }) => {
        lab.findTerminal(socket.data.session.id, terminalId).terminal.write(data);
        options.metrics?.terminalInputChars.inc(data.length);
      },
      'terminal:resize': (socket, { terminalId, cols, rows }) => lab.findTerminal(socket.data.session.id, terminalId).terminal.resize(cols, rows),
      'terminal:ack': (socket, { terminalId, chars }) => socket.data.scope.viewed(terminalId)?.ack(socket.id, chars),
      'terminal:detach': (socket, { terminalId }) => socket.data.scope.stopViewing(terminalId),
    },
  };
}

/** Opens a new shell (no terminalId) or finds an existing one, and attaches the socket to it. */
async function attachTerminal(socket: LabSocket, sandbox: Sandbox, terminalId: string | undefined, cols: number, rows: number) {
  let terminal: LabTerminal;
  if (terminalId) {
    const existing = sandbox.terminal(terminalId);
    if (!existing) throw new LabError('NOT_FOUND', 'That terminal has ended. Open a new one.');
    terminal = existing;
  } else {
    terminal = sandbox.openTerminal({ cols, rows });
  }
  terminal.resize(cols, rows);
  terminal.detach(socket.id);
  const snapshot = await terminal.attach(ownerViewer(socket, terminal.id));
  socket.data.scope.view(terminal);
  return { terminalId: terminal.id, kind: terminal.kind, cols: terminal.cols, rows: terminal.rows, exited: Boolean(terminal.exit), snapshot };
}

/** The owner's view of a terminal: its acks govern the pty. */
function ownerViewer(socket: LabSocket, terminalId: string): TerminalViewer {
  return {
    id: socket.id,
    governsFlow: true,
    sendOutput: (data) => socket.emit('terminal:output', { terminalId, data }),
    sendExit: (exitCode, signal) => socket.emit('terminal:exit', { terminalId, exitCode, ...(signal ? { signal } : {}) }),
  };
}
