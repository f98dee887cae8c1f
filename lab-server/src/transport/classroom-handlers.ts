/**
 * Handlers for the classroom: learners report where they are and follow the broadcast; the
 * instructor watches the class, broadcasts, spotlights and runs the class controls. The
 * dispatcher refuses instructor requests from learner connections before they get here.
 */
import type { Classroom } from '../classroom/classroom';
import type { Lab } from '../sandbox/lab';
import type { LabTerminal, TerminalViewer } from '../sandbox/terminal';
import type { HandlerSet, LabSocket } from './handler-types';

export function classroomHandlers(lab: Lab, classroom: Classroom): HandlerSet {
  return {
    onConnect(socket) {
      const { session, role, scope } = socket.data;
      const { broadcasting, spotlighted } = classroom.connected(session.id, session.displayName, role);
      // Leaving the classroom also ends what this connection watched, followed or spotlighted.
      scope.hold('classroom', () => classroom.disconnected(session.id, role, socket.id));
      if (role === 'learner' && broadcasting) socket.emit('class:broadcast-status', { active: true });
      if (role === 'learner' && spotlighted) socket.emit('class:spotlighted', { active: true });
    },

    requests: {
      'class:rename': (socket, { displayName }) => {
        socket.data.session.displayName = displayName;
        classroom.rename(socket.data.session.id, displayName);
        return { displayName };
      },
      'class:follow': async (socket) => {
        const { terminal, mirror } = await classroom.follow(socket.id, socket.data.session.id, (followed) => readOnlyViewer(socket, followed));
        // Gone while the screen was read: the classroom let it go before it recorded the follower.
        if (!socket.data.scope.view(terminal)) classroom.unfollow(socket.id);
        return mirror;
      },
      'class:unfollow': (socket) => {
        const terminalId = classroom.unfollow(socket.id);
        if (terminalId) socket.data.scope.stopViewing(terminalId);
        return {};
      },

      // The watcher ends with the connection's place in the classroom (onConnect).
      'class:watch': (socket) => classroom.watch({ id: socket.id, sendState: (state) => socket.emit('class:state', state) }),
      'class:broadcast': (socket, { terminalId }) => {
        if (terminalId === null) classroom.stopBroadcast();
        // Only a terminal of the instructor's own sandboxes can be broadcast.
        else classroom.startBroadcast(socket.data.session.id, lab.findTerminal(socket.data.session.id, terminalId).terminal);
        return {};
      },
      'class:spotlight': async (socket, { sessionId }) => {
        const { terminal, mirror } = await classroom.spotlight(socket.id, sessionId, (watched) => readOnlyViewer(socket, watched));
        // Gone while the screen was read: without this the learner would keep the spotlight badge.
        if (!socket.data.scope.view(terminal)) classroom.endSpotlight(socket.id);
        return mirror;
      },
      'class:spotlight-end': (socket) => {
        const terminalId = classroom.endSpotlight(socket.id);
        if (terminalId) socket.data.scope.stopViewing(terminalId);
        return {};
      },
      'class:reset-learner': async (_socket, { sessionId }) => ({ closed: await classroom.resetLearner(sessionId) }),
      'class:end-all': async () => ({ closed: await classroom.endAll() }),
      'class:warm-up': (_socket, { learners }) => lab.getReadyFor(learners),
      'class:set-open': async (_socket, { open }) => ({ open: await classroom.setOpen(open) }),
      'class:set-code': async (_socket, { code }) => ({ code: await classroom.setCode(code) }),
      'class:end-old-code': async () => ({ ended: await classroom.endOldCode() }),
    },

    messages: {
      'class:progress': (socket, { lessonSlug, stepId }) => classroom.progress(socket.data.session.id, lessonSlug, stepId),
    },
  };
}

/** A viewer that watches but never governs flow control or size: a follower or a spotlight. */
function readOnlyViewer(socket: LabSocket, terminal: LabTerminal): TerminalViewer {
  return {
    id: socket.id,
    governsFlow: false,
    sendOutput: (data) => socket.emit('terminal:output', { terminalId: terminal.id, data }),
    sendExit: (exitCode, signal) => socket.emit('terminal:exit', { terminalId: terminal.id, exitCode, ...(signal ? { signal } : {}) }),
    sendResize: (cols, rows) => socket.emit('terminal:resized', { terminalId: terminal.id, cols, rows }),
  };
}
