/**
 * Everything one connection holds on the server, and the one place it is let go.
 *
 * A connection views terminals (its own, a broadcast it follows, a learner it spotlights) and
 * holds subscriptions (observe streams, the class state, its place in the classroom). Each is
 * registered here when it starts; when the connection goes, `dispose()` detaches every viewer and
 * ends every subscription, once. Handlers release nothing per socket themselves: what they keep
 * per socket in a WeakMap (a rate bucket, attaches in flight, the observe backlog) goes with the
 * socket, and anything that must be ended is held here.
 */
import type { LabTerminal } from '../sandbox/terminal';

export class ConnectionScope {
  /** Terminals this connection views, by id: acks and detaches are looked up here. */
  private readonly viewing = new Map<string, LabTerminal>();
  /** Subscriptions by name, each with what ends it. */
  private readonly held = new Map<string, () => void>();
  private disposed = false;

  /** @param viewerId the id this connection's viewers carry on every terminal (the socket id). */
  constructor(readonly viewerId: string) {}

  /**
   * This connection now views `terminal`; it is detached when the connection goes. False if the
   * connection went already (while the request that attached it was waiting): the viewer is
   * detached at once, and the caller ends what it recorded for the viewer.
   */
  view(terminal: LabTerminal): boolean {
    if (this.disposed) {
      terminal.detach(this.viewerId);
      return false;
    }
    this.viewing.set(terminal.id, terminal);
    return true;
  }

  /** A terminal this connection views, e.g. to take its acks. */
  viewed(terminalId: string): LabTerminal | undefined {
    return this.viewing.get(terminalId);
  }

  /** Detaches this connection from a terminal it views. */
  stopViewing(terminalId: string): void {
    this.viewing.get(terminalId)?.detach(this.viewerId);
    this.viewing.delete(terminalId);
  }

  /**
   * Keeps a subscription under `name` until `release(name)` or the end of the connection. A
   * name already held keeps its first end: subscribing twice is one subscription.
   */
  hold(name: string, end: () => void): void {
    if (this.disposed) return end();
    if (!this.held.has(name)) this.held.set(name, end);
  }

  /** Ends the subscription held under `name`, if any. */
  release(name: string): void {
    const end = this.held.get(name);
    this.held.delete(name);
    end?.();
  }

  /** Forgets `name` without ending it: what it held finished by itself. */
  forget(name: string): void {
    this.held.delete(name);
  }

  /** The connection went: every viewer detached, every subscription ended, newest first. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const terminal of this.viewing.values()) terminal.detach(this.viewerId);
    this.viewing.clear();
    const ends = [...this.held.values()].reverse();
    this.held.clear();
    for (const end of ends) end();
  }
}
