/**
 * Host identities: every sandbox runs as a host uid/gid range of its own.
 *
 * Why: the kernel keeps many budgets per host user: pipe pages (fs.pipe-user-pages-soft), file
 * descriptors in flight over unix sockets (RLIMIT_NOFILE of them), epoll watches, and, through
 * user namespace owners, inotify, queued signals and namespaces (see runtime/userns-limits.ts).
 * When root in every sandbox was the same host uid, one sandbox spent the whole lab's share: the
 * outside review saw one sandbox shrink every new pipe in the lab to a single page, and 17
 * `sendmsg` calls with file descriptors make every new terminal in every sandbox fail (runc
 * hands the terminal over as that uid). With a range each, a sandbox can only spend its own.
 *
 * Identity n is the range uidBase + n × 65536, 65536 ids long; a lab uses the slots it claimed
 * host-wide (state-lock.ts: claimIdentitySlots), so two labs on one host never share one. The
 * range at uidBase itself is the one the shared rootfs is shifted to on disk; no sandbox runs as
 * it. Each identity sees the rootfs through its own idmapped read-only view, which shows those
 * files as owned by its range (runtime/readonly-view.ts); a view is made the first time its
 * identity is used and kept for the next sandbox that gets it.
 *
 * An identity is free again once its sandbox is gone. If a sandbox's processes could not all be
 * killed, the identity stays taken, so no new sandbox ever shares a uid with what is left.
 */
import { join } from 'node:path';
import { LabError } from '../errors';
import { MAPPED_ID_COUNT } from '../runtime/oci-spec';
import { mountIdmappedView, type ReadonlyView } from '../runtime/readonly-view';

export interface SandboxIdentity {
  readonly slot: number;
  /** The host uid (and gid) of root in the sandbox; the next 65535 follow it. */
  readonly hostUid: number;
  /** The rootfs as this identity sees it (an idmapped read-only view). */
  readonly rootfsView: string;
}

export interface HostIdentityOptions {
  uidBase: number;
  /** This lab's slots: firstSlot to firstSlot + slots - 1. */
  firstSlot: number;
  slots: number;
  /** The rootfs, shifted on disk to uidBase. */
  rootfs: string;
  /** Where the views are mounted, one directory per identity. */
  viewsDir: string;
  /** isolab-ns, which makes the views. */
  nsHelper: string;
}

/** The highest host uid a range may reach: 2^32 - 1 is the kernel's "no uid". */
const LAST_UID = 2 ** 32 - 2;

/**
 * Identities beyond the sandbox limit: a sandbox whose processes could not all be killed keeps
 * its identity, and the lab should still be able to fill up.
 */
export const SPARE_IDENTITIES = 16;

/** How many identities fit above `uidBase`. */
export function identitySlotsAvailable(uidBase: number): number {
  return Math.floor((LAST_UID + 1 - uidBase) / MAPPED_ID_COUNT) - 1;
}

export const hostUidOf = (uidBase: number, slot: number) => uidBase + slot * MAPPED_ID_COUNT;

export class HostIdentities {
  private readonly taken = new Set<number>();
  private readonly views = new Map<number, Promise<ReadonlyView>>();

  constructor(private readonly options: HostIdentityOptions) {}

  /** Takes a free identity, making its rootfs view if this is its first use. */
  async acquire(): Promise<SandboxIdentity> {
    const { firstSlot, slots } = this.options;
    let slot = firstSlot;
    while (this.taken.has(slot)) slot++;
    if (slot >= firstSlot + slots) {
      throw new LabError(
        'LAB_FULL',
        'The lab is full: every host identity is in use, some by processes of ended sandboxes that could not be removed. The lab server log names them.',
      );
    }
    this.taken.add(slot);
    try {
      const hostUid = hostUidOf(this.options.uidBase, slot);
      return { slot, hostUid, rootfsView: (await this.view(slot, hostUid)).path };
    } catch (error) {
      this.taken.delete(slot);
      throw error;
    }
  }

  release(identity: SandboxIdentity): void {
    this.taken.delete(identity.slot);
  }

  /**
   * Marks the identities of these host uids taken: processes of an earlier run may still use them.
   * Only uids in this lab's claimed slots can be held: a crashed lab's block is usually claimed
   * again by the same lab when it restarts, but a lab that claims it instead does not know them.
   */
  holdHostUids(hostUids: number[]): void {
    for (const uid of hostUids) {
      const slot = (uid - this.options.uidBase) / MAPPED_ID_COUNT;
      if (Number.isInteger(slot) && slot >= this.options.firstSlot && slot < this.options.firstSlot + this.options.slots) this.taken.add(slot);
    }
  }

  get inUse(): number {
    return this.taken.size;
  }

  /** Unmounts every view (at shutdown). */
  async dispose(): Promise<void> {
    const views = await Promise.allSettled(this.views.values());
    for (const view of views) if (view.status === 'fulfilled') view.value.release();
    this.views.clear();
  }

  private view(slot: number, hostUid: number): Promise<ReadonlyView> {
    let view = this.views.get(slot);
    if (!view) {
      const { nsHelper, rootfs, viewsDir, uidBase } = this.options;
      view = mountIdmappedView(nsHelper, rootfs, join(viewsDir, `rootfs-${slot}`), uidBase, hostUid);
      // A failed mount is tried again by the next sandbox that gets this identity.
      view.catch(() => this.views.delete(slot));
      this.views.set(slot, view);
    }
    return view;
  }
}
