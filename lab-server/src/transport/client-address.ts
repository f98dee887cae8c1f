/**
 * Who is on the other end of a connection. Behind a reverse proxy every connection comes from
 * the proxy, so the proxy's X-Forwarded-For names the client; but anyone can send that header,
 * so it is believed only when the connection itself comes from a trusted proxy
 * (ISOLAB_TRUSTED_PROXIES). Every per-address limit keys on the address this returns.
 */
import { BlockList, isIP } from 'node:net';

/** A set of addresses and subnets, as written in ISOLAB_TRUSTED_PROXIES or ISOLAB_METRICS_ALLOW. */
export function addressSet(entries: string[]): BlockList {
  const set = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) set.addAddress(address, type);
    else set.addSubnet(address, Number(bits), type);
  }
  return set;
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function inSet(set: BlockList, address: string): boolean {
  const plain = plainAddress(address);
  const family = isIP(plain);
  return family !== 0 && set.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address: the peer's, unless the peer is a trusted proxy. Then X-Forwarded-For is
 * read from the right (each proxy appends the address it saw), skipping trusted proxies; the
 * first address that is not one is the client. What lies left of it was written by the client
 * and is never believed.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList): string {
  let client = plainAddress(peer ?? '');
  if (!inSet(trusted, client) || forwardedFor === undefined) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((hop) => plainAddress(hop.trim()));
  for (const hop of hops.reverse()) {
    if (isIP(hop) === 0) break;
    client = hop;
    if (!inSet(trusted, hop)) break;
  }
  return client;
}

/**
 * The key per-address limits count under. An IPv6 client has a whole /64 to pick addresses
 * from, so its limits apply to the /64.
 */
export function limitKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`;
}
