/**
 * Limits per client address (see client-address.ts for what the address is behind a proxy).
 *
 * A class behind one school NAT is one address, and so is a flood. What tells them apart is
 * that learners are sessions: each connects a few times (tabs) and opens a few sandboxes. So the
 * limits count established sessions and the sandboxes they start, not raw connections:
 * - live sessions per address, and connections per session (tabs);
 * - new sessions per address: a burst the size of a class, then a steady trickle;
 * - sandboxes started per address;
 * - wrong secrets (instructor token, class code, resume code) per address and per kind: a few,
 *   then one a minute, so nobody can guess one. Each kind counts apart, so a class mistyping its
 *   code never locks the instructor (on the same school network) out of the dashboard; and a
 *   right class code gives a try back, so the typos of a class behind one NAT are paid for by
 *   the learners who typed it right (an outsider has none to give).
 * Every number but the last is the operator's to set (lab-server/src/config.ts).
 */
import { LabError } from '../errors';
import type { Session } from '../session/session-store';
import { BucketMap } from './token-bucket';

export interface AddressPolicy {
  maxSessionsPerAddress: number;
  maxConnectionsPerSession: number;
  newSessionBurst: number;
  newSessionsPerMinute: number;
  maxSandboxesPerAddress: number;
}

/** Wrong secrets of one kind one address may send: this many at once, then one a minute. */
export const WRONG_SECRET_BURST = 10;
const WRONG_SECRETS_PER_SECOND = 1 / 60;

export type SecretKind = 'instructor link' | 'class code' | 'resume code';

export class AddressLimits {
  /** Per address: the sessions connected from it, with their connection counts. */
  private readonly live = new Map<string, Map<string, number>>();
  private readonly newSessions: BucketMap;
  private readonly wrongSecrets: Record<SecretKind, BucketMap> = {
    'instructor link': new BucketMap(WRONG_SECRETS_PER_SECOND, WRONG_SECRET_BURST),
    'class code': new BucketMap(WRONG_SECRETS_PER_SECOND, WRONG_SECRET_BURST),
    'resume code': new BucketMap(WRONG_SECRETS_PER_SECOND, WRONG_SECRET_BURST),
  };
  /** Sandboxes running or starting, per address, and the address of each running one. */
  private readonly sandboxCounts = new Map<string, number>();
  private readonly sandboxAddresses = new Map<string, string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly policy: AddressPolicy) {
    this.newSessions = new BucketMap(policy.newSessionsPerMinute / 60, policy.newSessionBurst);
    this.sweeper = setInterval(() => {
      this.newSessions.sweep();
      for (const buckets of Object.values(this.wrongSecrets)) buckets.sweep();
    }, 60_000);
    this.sweeper.unref();
  }

  /**
   * Why a connection from `address` may not be established, or undefined when it may. A known
   * session passes `known`; a new session uses up one of the address's new-session tokens.
   */
  refuseConnection(address: string, known: Session | undefined): LabError | undefined {
    const { maxConnectionsPerSession, maxSessionsPerAddress } = this.policy;
    if (known && known.connections >= maxConnectionsPerSession) {
      return new LabError('TOO_MANY_CONNECTIONS', `This session already has ${maxConnectionsPerSession} connections open. Close some of the lab's tabs and reload.`);
    }
    const sessions = this.live.get(address);
    if (known && sessions?.has(known.id)) return undefined;
    if ((sessions?.size ?? 0) >= maxSessionsPerAddress) {
      return new LabError(
        'TOO_MANY_CONNECTIONS',
        `${maxSessionsPerAddress} learners are already connected from your network address, the most the lab allows from one address. If your whole class shares one address, the operator can raise ISOLAB_MAX_SESSIONS_PER_ADDRESS.`,
      );
    }
    if (!known && !this.newSessions.get(address).take()) {
      return new LabError('TOO_MANY_CONNECTIONS', 'Too many new sessions from your address. Wait a minute, then reload.');
    }
    return undefined;
  }

  connected(address: string, sessionId: string): void {
    let sessions = this.live.get(address);
    if (!sessions) this.live.set(address, (sessions = new Map()));
    sessions.set(sessionId, (sessions.get(sessionId) ?? 0) + 1);
  }

  disconnected(address: string, sessionId: string): void {
    const sessions = this.live.get(address);
    const left = (sessions?.get(sessionId) ?? 1) - 1;
    if (left > 0) sessions!.set(sessionId, left);
    else sessions?.delete(sessionId);
    if (sessions?.size === 0) this.live.delete(address);
  }

  /** A refusal while this address has used up its wrong guesses of `kind`; checked before the secret is compared. */
  refuseSecretAttempt(address: string, kind: SecretKind): LabError | undefined {
    const bucket = this.wrongSecrets[kind].get(address);
    if (bucket.has()) return undefined;
    return new LabError('TOO_MANY_ATTEMPTS', `Too many wrong ${kind}s came from your address. Wait ${bucket.secondsUntil()} seconds, then try again.`);
  }

  secretWasWrong(address: string, kind: SecretKind): void {
    this.wrongSecrets[kind].get(address).take();
  }

  /**
   * A right class code gives one try back (never more than the burst): whoever knows the code
   * gains nothing by guessing it. Not for the instructor link or a resume code, where someone
   * who knows their own could otherwise keep guessing another's.
   */
  classCodeWasRight(address: string): void {
    this.wrongSecrets['class code'].get(address).giveBack();
  }

  /**
   * Holds a sandbox slot for `address` while one starts; throws ADDRESS_LIMIT when the address
   * has none left. Call `started` with the sandbox, or `release` if it did not start.
   */
  reserveSandbox(address: string): { started(sandboxId: string): void; release(): void } {
    const count = this.sandboxCounts.get(address) ?? 0;
    if (count >= this.policy.maxSandboxesPerAddress) {
      throw new LabError(
        'ADDRESS_LIMIT',
        `Your network address already runs ${this.policy.maxSandboxesPerAddress} sandboxes, the most the lab allows from one address. Close a lesson's tab; if your whole class shares one address, the operator can raise ISOLAB_MAX_SANDBOXES_PER_ADDRESS.`,
      );
    }
    this.sandboxCounts.set(address, count + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.release(address);
    };
    return {
      started: (sandboxId) => {
        // Two tabs opening the same lesson share one start: that sandbox is counted once.
        if (!held || this.sandboxAddresses.has(sandboxId)) return release();
        held = false;
        this.sandboxAddresses.set(sandboxId, address);
      },
      release,
    };
  }

  sandboxClosed(sandboxId: string): void {
    const address = this.sandboxAddresses.get(sandboxId);
    if (address === undefined) return;
    this.sandboxAddresses.delete(sandboxId);
    this.release(address);
  }

  dispose(): void {
    clearInterval(this.sweeper);
  }

  private release(address: string): void {
    const left = (this.sandboxCounts.get(address) ?? 1) - 1;
    if (left > 0) this.sandboxCounts.set(address, left);
    else this.sandboxCounts.delete(address);
  }
}
