/**
 * Where the namespace map draws things: one row per namespace kind, one bubble per namespace,
 * one dot per process inside its bubble. A pure function, so the picture's geometry is tested
 * without a browser.
 */
import type { MapNamespace, MapProcess, NamespaceKind, NamespaceMap } from '../../protocol';

/** Kinds in the order the course teaches them; the row label says what each isolates. */
export const KIND_ORDER: ReadonlyArray<{ kind: NamespaceKind; isolates: string }> = [
  { kind: 'user', isolates: 'uids and capabilities' },
  { kind: 'pid', isolates: 'process ids' },
  { kind: 'mnt', isolates: 'mounts' },
  { kind: 'net', isolates: 'network' },
  { kind: 'uts', isolates: 'hostname' },
  { kind: 'ipc', isolates: 'message queues, shm' },
  { kind: 'cgroup', isolates: 'cgroup root' },
  { kind: 'time', isolates: 'boot and monotonic clocks' },
];

export const DOT_RADIUS = 15;
const DOT_GAP = 40;
const BUBBLE_PADDING = 22;
const BUBBLE_GAP = 28;
const ROW_GAP = 46;
export const LABEL_WIDTH = 150;

export interface PlacedProcess {
  process: MapProcess;
  x: number;
  y: number;
}

export interface PlacedBubble {
  namespace: MapNamespace;
  cx: number;
  cy: number;
  r: number;
  processes: PlacedProcess[];
}

export interface PlacedRow {
  kind: NamespaceKind;
  isolates: string;
  y: number;
  height: number;
  bubbles: PlacedBubble[];
}

export interface MapLayout {
  width: number;
  height: number;
  rows: PlacedRow[];
}

/** Dots fill a bubble ring by ring around the centre (1, then 6, 12, ...), like cells in a hive. */
function dotOffsets(count: number): Array<{ dx: number; dy: number }> {
  const offsets: Array<{ dx: number; dy: number }> = [];
  if (count === 0) return offsets;
  offsets.push({ dx: 0, dy: 0 });
  for (let ring = 1; offsets.length < count; ring++) {
    const slots = 6 * ring;
    for (let i = 0; i < slots && offsets.length < count; i++) {
      const angle = (2 * Math.PI * i) / slots - Math.PI / 2;
      offsets.push({ dx: Math.cos(angle) * ring * DOT_GAP, dy: Math.sin(angle) * ring * DOT_GAP });
    }
  }
  return offsets;
}

function bubbleRadius(count: number): number {
  if (count <= 1) return DOT_RADIUS + BUBBLE_PADDING + 6;
  let rings = 0;
  for (let capacity = 1; capacity < count; rings++) capacity += 6 * (rings + 1);
  return rings * DOT_GAP + DOT_RADIUS + BUBBLE_PADDING;
}

export function layoutNamespaceMap(map: NamespaceMap, kinds: readonly NamespaceKind[] = KIND_ORDER.map((k) => k.kind)): MapLayout {
  const byHostPid = new Map(map.processes.map((p) => [p.hostPid, p]));
  const rows: PlacedRow[] = [];
  let y = 20;
  let width = LABEL_WIDTH;
  for (const { kind, isolates } of KIND_ORDER.filter((k) => kinds.includes(k.kind))) {
    // The sandbox's own namespace first, then the host's, then the learner's, each in a stable order.
    const rank = { sandbox: 0, host: 1, nested: 2 } as const;
    const namespaces = map.namespaces.filter((n) => n.kind === kind).sort((a, b) => rank[a.origin] - rank[b.origin] || a.inode - b.inode);
    if (namespaces.length === 0) continue;
    const radii = namespaces.map((n) => bubbleRadius(n.processes.length));
    const height = Math.max(...radii) * 2;
    let x = LABEL_WIDTH;
    const bubbles = namespaces.map((namespace, i) => {
      const r = radii[i];
      const cx = x + r;
      const cy = y + height / 2;
      x += 2 * r + BUBBLE_GAP;
      const members = namespace.processes.map((pid) => byHostPid.get(pid)).filter((p): p is MapProcess => p !== undefined);
      members.sort((a, b) => a.pidInside - b.pidInside);
      const offsets = dotOffsets(members.length);
      return { namespace, cx, cy, r, processes: members.map((process, j) => ({ process, x: cx + offsets[j].dx, y: cy + offsets[j].dy })) };
    });
    width = Math.max(width, x);
    rows.push({ kind, isolates, y, height, bubbles });
    y += height + ROW_GAP;
  }
  return { width: width + 10, height: y, rows };
}
