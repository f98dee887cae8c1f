#!/usr/bin/env bash
# The cgroup v2 stage: runs the lab's cgroup-sensitive tests on the host most users have, the
# unified cgroup v2 hierarchy under Debian 12's own 6.1 kernel, in a QEMU VM (TCG: no KVM needed).
#
# Built from Debian packages on a Debian 12 machine, as root, after `npm run setup`:
# - qemu-system-x86 and qemu-utils from apt;
# - the kernel from Debian's linux-image-*-amd64 package, extracted with dpkg-deb -x;
# - a busybox-static initramfs that loads virtio_pci, virtio_blk and ext4 (Debian builds them as
#   modules) and switch_roots into the guest;
# - the guest's root: the lab's own rootfs (Debian bookworm, already built by setup) as the base,
#   plus the kernel's modules, the host's node and runc (same glibc), and the lab's rootfs again
#   where the lab expects it. Copied with owners and xattrs (tar, then mkfs.ext4 -d).
# - the checkout (with node_modules) on a second disk, made fresh for each run.
#
# The base image is cached in $ISOLAB_VM_DIR (default /var/lib/isolab/vm), keyed on everything it
# is made of; each run writes to a throwaway qcow2 overlay, so the cache stays clean. The guest
# boots with cgroup_no_v1=all and sets cgroups up as systemd would (scripts/cgroup-v2-vm/guest.sh).
# The tests' output streams back over the second serial port; the kernel's console goes to a log.
# A watchdog kills the VM if it runs too long. The stage ends with "N passed, N failed" and fails
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$(pwd)

VM_DIR=${ISOLAB_VM_DIR:-/var/lib/isolab/vm}
DATA_DIR=${ISOLAB_DATA_DIR:-/var/lib/isolab}
# The whole VM run, boot to power-off; TCG runs test bodies 2-5x slower than the host. With every
# lesson, about 20 minutes on the 2-core box; the watchdog keeps a hung VM from taking CI past an hour.
TIMEOUT_MINUTES=${ISOLAB_VM_TIMEOUT_MINUTES:-40}
# The server test files run in the guest (lab-server's start and /healthz are always checked
# first): those whose subject differs on cgroup v2 or before Linux 6.2 (the v2 files and events,
# init.scope delegation, child cgroups, cgroup.kill, the v2 meters, time namespaces), and the
# lessons with v2 or kernel branches. The rest of the suite behaves the same on any host and
# runs natively in `npm test`. adversarial-budgets.test.ts: the v2 cgroup.max.descendants cap and
# teardown of a cgroup frozen with cgroup.freeze. Every lesson (ISOLAB_LESSONS picks some).
TESTS=${ISOLAB_VM_TESTS:-lab-server/test/isolation.test.ts lab-server/test/limits.test.ts lab-server/test/nested.test.ts lab-server/test/teardown.test.ts lab-server/test/observe.test.ts lab-server/test/adversarial-budgets.test.ts lab-server/test/lessons.test.ts}
LESSONS=${ISOLAB_LESSONS:-all}
# How many times slower than the host the tests run in the VM: their waits (never their
# assertions) are bounded that much longer (lab-server/test/support/slowdown.ts). TCG alone is
# about 5x; a busy host that gives QEMU a fraction of a core, several times that.
SLOWDOWN=${ISOLAB_VM_SLOWDOWN:-20}
# Bump when the way the base image is made changes, so cached images are rebuilt.
BASE_RECIPE=2

step() { printf '\n\033[1m▸ %s\033[0m\n' "$*"; }
fail() { echo "✗ $*" >&2; exit 1; }
started=$(date +%s)

[ "$(id -u)" = 0 ] || fail "The cgroup v2 stage needs root: it installs packages and builds a VM image. Run: sudo bash scripts/test-cgroup-v2.sh"
[ -f "$DATA_DIR/rootfs.json" ] && [ -x "$DATA_DIR/rootfs/bin/bash" ] || fail "The lab's rootfs is not built. Run npm run setup first."
[ -f node_modules/node-pty/build/Release/pty.node ] || fail "node_modules is not installed. Run npm run setup first."

# --- Packages -----------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
missing=()
for package in qemu-system-x86 qemu-utils e2fsprogs; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing Debian packages: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian 12's kernel: the package linux-image-amd64 points at (6.1.0-NN-amd64).
kernel_package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$kernel_package" ]; then
  apt-get update -qq
  kernel_package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
[ -n "$kernel_package" ] || fail "apt does not know linux-image-amd64; is this Debian 12 with its main archive?"
kernel_release=${kernel_package#linux-image-}
kernel_version=$(apt-cache policy "$kernel_package" | awk '/Candidate:/ { print $2 }')
busybox_version=$(apt-cache policy busybox-static | awk '/Candidate:/ { print $2 }')

mkdir -p "$VM_DIR"
# Only one stage at a time uses the cache (two CI runs on one machine would race on it).
exec 9>"$VM_DIR/.lock"
flock 9

# --- Kernel and busybox, extracted from their packages --------------------------------------
packages_dir="$VM_DIR/packages/$kernel_package-$kernel_version+busybox-$busybox_version"
if [ ! -f "$packages_dir/done" ]; then
  step "Downloading $kernel_package $kernel_version and busybox-static $busybox_version"
  rm -rf "$VM_DIR/packages"
  mkdir -p "$packages_dir/debs"
  # apt drops privileges to _apt while downloading; the directory must let it write.
  chown _apt "$packages_dir/debs" 2>/dev/null || true
  (cd "$packages_dir/debs" && apt-get download -qq "$kernel_package=$kernel_version" "busybox-static=$busybox_version")
  dpkg-deb -x "$packages_dir"/debs/linux-image-*.deb "$packages_dir/kernel"
  dpkg-deb -x "$packages_dir"/debs/busybox-static_*.deb "$packages_dir/busybox"
  rm -rf "$packages_dir/debs"
  touch "$packages_dir/done"
fi
vmlinuz="$packages_dir/kernel/boot/vmlinuz-$kernel_release"
modules="$packages_dir/kernel/lib/modules/$kernel_release"
busybox="$packages_dir/busybox/bin/busybox"

# A module's dependencies, from its own .modinfo section (the package ships no modules.dep).
module_file() { find "$modules/kernel" -name "$1.ko" | head -1; }
module_deps() { tr '\0' '\n' <"$(module_file "$1")" | sed -n 's/^depends=//p' | tr ',' ' '; }
load_order=()
add_module() {
  local dep
  for dep in $(module_deps "$1"); do add_module "$dep"; done
  [[ " ${load_order[*]} " == *" $1 "* ]] || load_order+=("$1")
}

# --- Initramfs: load the disk and ext4 modules, mount the guest's root, switch_root ----------
initramfs_key=$(printf '%s\n' "$kernel_package $kernel_version" "$busybox_version" "$(cat scripts/cgroup-v2-vm/initramfs-init)" | sha256sum | cut -c1-16)
initramfs="$VM_DIR/initramfs-$initramfs_key.cpio.gz"
if [ ! -f "$initramfs" ]; then
  step "Building the initramfs"
  rm -f "$VM_DIR"/initramfs-*.cpio.gz
  work=$(mktemp -d)
  mkdir -p "$work"/{bin,dev,proc,sys,newroot,modules}
  cp "$busybox" "$work/bin/busybox"
  for applet in sh mount umount insmod switch_root mkdir sleep cat echo poweroff; do ln -s busybox "$work/bin/$applet"; done
  # crc32c is asked for by name (the crypto API), not linked, so it is loaded on its own.
  for module in crc32c_generic ext4 virtio_pci virtio_blk; do add_module "$module"; done
  for module in "${load_order[@]}"; do cp "$(module_file "$module")" "$work/modules/"; done
  printf '%s\n' "${load_order[@]}" >"$work/modules/order"
  install -m 755 scripts/cgroup-v2-vm/initramfs-init "$work/init"
  (cd "$work" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$initramfs.tmp"
  mv "$initramfs.tmp" "$initramfs"
  rm -rf "$work"
fi

# --- The guest's root disk (cached) -----------------------------------------------------------
node_bin=$(command -v node)
runc_bin=$(command -v runc)
base_key=$(printf '%s\n' "$BASE_RECIPE" "$kernel_package $kernel_version" "$busybox_version" \
  "$(cat "$DATA_DIR/rootfs.json")" "$(sha256sum "$node_bin" "$runc_bin")" | sha256sum | cut -c1-16)
base="$VM_DIR/base-$base_key.img"
if [ ! -f "$base" ]; then
  step "Building the guest's root disk (the lab's rootfs as its base, kernel modules, node, runc)"
  rm -f "$VM_DIR"/base-*.img
  stage=$(mktemp -d "$VM_DIR/stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  # The lab's rootfs is uid-shifted (root inside a sandbox is host uid 1000000000). As the guest's
  # own system it must belong to root again (a setuid mount owned by 1000000000 would run as that
  # uid); the copy the lab serves keeps exactly its owners and file capabilities.
  tar -C "$DATA_DIR/rootfs" --owner=0 --group=0 --numeric-owner -cf - . | tar -C "$stage" --numeric-owner -xpf -
  mkdir -p "$stage/var/lib/isolab/rootfs"
  tar -C "$DATA_DIR/rootfs" --numeric-owner --xattrs --xattrs-include='*' -cf - . | tar -C "$stage/var/lib/isolab/rootfs" --numeric-owner --xattrs --xattrs-include='*' -xpf -
  cp "$DATA_DIR/rootfs.json" "$stage/var/lib/isolab/"
  # Modules a sandbox's experiments make the kernel load on demand (veth, bridge, netfilter,
  # filesystems), found through busybox's modprobe and a modules.dep made here.
  mkdir -p "$stage/lib/modules/$kernel_release/kernel/drivers"
  for part in arch block crypto fs lib mm net virt; do cp -a "$modules/kernel/$part" "$stage/lib/modules/$kernel_release/kernel/"; done
  for part in block char net virtio; do cp -a "$modules/kernel/drivers/$part" "$stage/lib/modules/$kernel_release/kernel/drivers/"; done
  cp "$modules"/modules.{builtin,builtin.modinfo,order} "$stage/lib/modules/$kernel_release/" 2>/dev/null || true
  "$busybox" depmod -b "$stage" "$kernel_release"
  mkdir -p "$stage/opt/isolab-vm" "$stage/opt/isolab" "$stage/usr/local/bin" "$stage/usr/local/sbin" "$stage/usr/share/doc/runc"
  cp "$busybox" "$stage/opt/isolab-vm/busybox"
  ln -s busybox "$stage/opt/isolab-vm/modprobe"
  cp "$node_bin" "$stage/usr/local/bin/node"
  cp "$runc_bin" "$stage/usr/local/sbin/runc"
  # preflight reads runc's Debian changelog to know it has the CVE-2024-21626 fix.
  cp /usr/share/doc/runc/changelog.Debian.gz "$stage/usr/share/doc/runc/" 2>/dev/null || true
  size_mib=$(($(du -sm "$stage" | cut -f1) + 1024))
  rm -f "$base.tmp"
  mkfs.ext4 -q -F -L isolab-root -d "$stage" "$base.tmp" "${size_mib}M" >/dev/null
  mv "$base.tmp" "$base"
  rm -rf "$stage"
  trap - EXIT
fi

# --- This run: an overlay on the base, the checkout on its own disk ---------------------------
run_dir="$VM_DIR/run"
rm -rf "$run_dir"
mkdir -p "$run_dir/checkout"
step "Copying the checkout for the guest"
# lab-server builds its namespace helper with the host's C compiler; the guest has none, so it is
# built (or found up to date) here and travels with the checkout.
node node_modules/tsx/dist/cli.mjs -e "import('./lab-server/src/runtime/ns-helper.ts').then((helper) => helper.ensureNsHelper())"
# Everything the server tests need: sources, lessons, node_modules. Not git, builds or reports.
tar -C "$CHECKOUT" --exclude=./.git --exclude=./.next --exclude=./test-results --exclude=./playwright-report -cf - . | tar -C "$run_dir/checkout" -xf -
# A git worktree may share another checkout's node_modules through a symlink: the guest needs the files.
if [ -L node_modules ]; then
  rm "$run_dir/checkout/node_modules"
  mkdir "$run_dir/checkout/node_modules"
  tar -C "$(readlink -f node_modules)" -cf - . | tar -C "$run_dir/checkout/node_modules" -xf -
fi
{
  echo "ISOLAB_VM_TESTS='$TESTS'"
  echo "ISOLAB_TEST_SLOWDOWN=$SLOWDOWN"
  echo "ISOLAB_LESSONS='$LESSONS'"
} >"$run_dir/checkout/.isolab-vm-env"
checkout_mib=$(($(du -sm "$run_dir/checkout" | cut -f1) + 512))
mkfs.ext4 -q -F -L isolab-checkout -d "$run_dir/checkout" "$run_dir/checkout.img" "${checkout_mib}M" >/dev/null
rm -rf "$run_dir/checkout"
qemu-img create -q -f qcow2 -b "$base" -F raw "$run_dir/root.qcow2"

# --- Boot and stream --------------------------------------------------------------------------
step "Booting Debian 12's $kernel_release on cgroup v2 (QEMU, TCG; console log: $run_dir/console.log)"
: >"$run_dir/tests.log"
built=$(date +%s)
# CPU time the VM gets is what decides the stage's length: bash's `times` (this shell's waited-for
# children, qemu among them) before and after the boot tell how much it had.
# (`times` itself runs in this shell: in a $(...) subshell it would count that subshell's children.)
children_cpu_seconds() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print int(u[1] * 60 + u[2] + s[1] * 60 + s[2]) }' "$run_dir/times"; }
times >"$run_dir/times"
cpu_before=$(children_cpu_seconds)
timeout --signal=KILL "${TIMEOUT_MINUTES}m" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m 4096 \
  -kernel "$vmlinuz" -initrd "$initramfs" \
  -append "console=ttyS0 quiet loglevel=4 panic=10 mitigations=off cgroup_no_v1=all isolab_timeout=$((TIMEOUT_MINUTES - 2))" \
  -drive "file=$run_dir/root.qcow2,if=virtio,format=qcow2" \
  -drive "file=$run_dir/checkout.img,if=virtio,format=raw" \
  -nic none -display none -no-reboot \
  -serial "file:$run_dir/console.log" -serial "file:$run_dir/tests.log" \
  >"$run_dir/qemu.log" 2>&1 &
qemu=$!
tail -n +1 -f --pid=$qemu "$run_dir/tests.log" &
tail_pid=$!
qemu_status=0
wait $qemu || qemu_status=$?
wait $tail_pid 2>/dev/null || true
finished=$(date +%s)
times >"$run_dir/times"
vm_cpu=$(($(children_cpu_seconds) - cpu_before))

# --- Verdict ----------------------------------------------------------------------------------
summary=$(grep -a -o 'cgroup-v2-vm: [0-9]* passed, [0-9]* failed' "$run_dir/tests.log" | tail -1 || true)
guest_exit=$(grep -a -o 'ISOLAB_VM_EXIT=[0-9]*' "$run_dir/tests.log" | tail -1 | cut -d= -f2 || true)
echo
vm_seconds=$((finished - built))
echo "cgroup v2 stage: building $((built - started)) s, VM boot to power-off $vm_seconds s, total $((finished - started)) s"
# Two emulated CPUs can use at most 200 %: far less means the host's other work starved the VM.
echo "The VM had $vm_cpu CPU-seconds of the host's in those $vm_seconds s ($((vm_cpu * 100 / (vm_seconds > 0 ? vm_seconds : 1))) % of one core; load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
if [ -z "$summary" ] || [ -z "$guest_exit" ]; then
  if [ "$qemu_status" = 137 ]; then why="the watchdog stopped the VM after $TIMEOUT_MINUTES minutes"; else why="QEMU exited with status $qemu_status"; fi
  echo "✗ The VM stopped before the tests finished: $why. Last lines of the guest's console:" >&2
  tail -n 30 "$run_dir/console.log" >&2 || true
  tail -n 5 "$run_dir/qemu.log" >&2 || true
  passed=$(grep -a -c '^✓' "$run_dir/tests.log" || true)
  echo "cgroup-v2: ${passed:-0} passed, 1 failed"
  exit 1
fi
echo "${summary/cgroup-v2-vm/cgroup-v2}"
[ "$guest_exit" = 0 ]
