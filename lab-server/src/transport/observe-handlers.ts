/**
 * Handlers for observing a sandbox: meters, host view, namespace map.
 *
 * Subscribing looks the sandbox up through the caller's session, so another learner's sandbox
 * cannot be watched: it answers NOT_FOUND, exactly like an id that does not exist. A connection's
 * subscriptions end with it.
 */
import { OBSERVE_INTERVAL_MS } from '../../../protocol';
import type { Observatory } from '../observe/observatory';
import type { Lab } from '../sandbox/lab';
import type { HandlerSet } from './handler-types';

export function observeHandlers(lab: Lab, observatory: Observatory): HandlerSet {
  return {
    requests: {
      'observe:subscribe': (socket, { sandboxId, views }) => {
        const sandbox = lab.find(socket.data.session.id, sandboxId);
        observatory.watch(sandbox, socket.id, [...new Set(views)], {
          meters: (sample) => socket.emit('observe:meters', { sandboxId, sample }),
          event: (event) => socket.emit('observe:event', { sandboxId, event }),
          hostView: (hostView) => socket.emit('observe:host-view', { sandboxId, hostView }),
          nsMap: (nsMap) => socket.emit('observe:ns-map', { sandboxId, nsMap }),
        });
        socket.data.scope.hold(subscription(sandboxId), () => observatory.unwatch(sandboxId, socket.id));
        return { cgroupVersion: observatory.cgroupVersion, intervalMs: OBSERVE_INTERVAL_MS };
      },

      'observe:unsubscribe': (socket, { sandboxId }) => {
        socket.data.scope.release(subscription(sandboxId));
        return {};
      },
    },
    messages: {},
  };
}

const subscription = (sandboxId: string) => `observe:${sandboxId}`;
