#!/bin/bash
# PID 1 of the cgroup v2 stage's guest (Debian 12's kernel, booted with cgroup_no_v1=all).
# Sets the machine up as systemd does on a Debian 12 or Ubuntu host, runs the lab's
# cgroup-sensitive tests, streams their output to the second serial port (ttyS1), and powers off.
# The host's scripts/test-cgroup-v2.sh reads the closing "N passed, N failed" line and
# ISOLAB_VM_EXIT from that stream.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root CI=true NO_COLOR=1 LANG=C.UTF-8
exec >/dev/ttyS1 2>&1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
ln -sfn /proc/self/fd /dev/fd
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
# systemd's cgroup2 mount, and its shared root and /run tmpfs (mountinfo then names /run/x as /x).
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
mount --make-rshared /
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
hostname isolab-cgroup-v2
ip link set lo up
# The kernel loads modules (veth, bridge, ...) on demand through this modprobe.
echo /opt/isolab-vm/modprobe >/proc/sys/kernel/modprobe
# As systemd: PID 1 lives in init.scope, and the root hands its controllers down.
mkdir /sys/fs/cgroup/init.scope
echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs
for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control; done

# The watchdog inside: power off even if a test hangs (the host has its own, a little later).
timeout_minutes=$(sed -n 's/.*isolab_timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
(sleep "$((${timeout_minutes:-30} * 60))"; echo "guest watchdog: powering off after ${timeout_minutes} minutes"; echo o >/proc/sysrq-trigger) &

echo "guest: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB, $(stat -fc %T /sys/fs/cgroup) on /sys/fs/cgroup: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
cd /opt/isolab
# What the host chose: ISOLAB_VM_TESTS (the test files), ISOLAB_TEST_SLOWDOWN, ISOLAB_LESSONS.
set -a
. /opt/isolab/.isolab-vm-env
set +a
# Checks (commands a lesson runs in a sandbox) get the product's longest time limit here, and a
# sandbox's shell as long to start as the tests' other waits allow (slowdown.ts).
export ISOLAB_CHECK_TIMEOUT_MS=60000
start_seconds=$((15 * ISOLAB_TEST_SLOWDOWN))
export ISOLAB_START_TIMEOUT_SECONDS=$((start_seconds > 600 ? 600 : start_seconds))
passed=0
failed=0
stage_started=$(date +%s)

# 1. lab-server itself starts on this host (preflight passes) and answers /healthz.
echo; echo "▸ lab-server start and /healthz"
ISOLAB_HOST=127.0.0.1 ISOLAB_PORT=3901 node node_modules/tsx/dist/cli.mjs lab-server/src/main.ts >/tmp/lab-server.log 2>&1 &
server=$!
# Polls until it answers or exits (a refused start exits at once, naming the problem).
if node -e '
  const server = Number(process.argv[1]);
  const deadline = Date.now() + 600_000;
  const alive = () => { try { process.kill(server, 0); return true; } catch { return false; } };
  (async () => {
    while (Date.now() < deadline && alive()) {
      try {
        const response = await fetch("http://127.0.0.1:3901/healthz");
        console.log(`/healthz: ${response.status} ${await response.text()}`);
        process.exit(response.ok ? 0 : 1);
      } catch { await new Promise((resolve) => setTimeout(resolve, 1000)); }
    }
    process.exit(1);
  })();' "$server"; then
  passed=$((passed + 1)); echo "✓ lab-server started and answered /healthz ($(($(date +%s) - stage_started)) s)"
else
  failed=$((failed + 1)); echo "✗ lab-server did not answer /healthz; its log:"; tail -n 40 /tmp/lab-server.log
fi
# And stops on SIGTERM (as on Ctrl-C), removing its sandboxes, within a bound.
kill -TERM $server 2>/dev/null
for _ in $(seq 300); do kill -0 $server 2>/dev/null || break; sleep 1; done
if kill -0 $server 2>/dev/null; then
  failed=$((failed + 1)); echo "✗ lab-server did not stop within 300 s of SIGTERM; its log:"; tail -n 40 /tmp/lab-server.log
  kill -KILL $server 2>/dev/null
else
  passed=$((passed + 1)); echo "✓ lab-server stopped on SIGTERM"
fi
wait $server 2>/dev/null

# 2. The server tests that depend on the host's cgroups and kernel (the host chose the files).
# One file at a time: the lessons file already plays two lessons at once. The tests' waits are
# ISOLAB_TEST_SLOWDOWN times longer here; their assertions are unchanged.
echo; echo "▸ lab-server tests against real sandboxes (waits x$ISOLAB_TEST_SLOWDOWN): $ISOLAB_VM_TESTS${ISOLAB_LESSONS:+ (lessons: $ISOLAB_LESSONS)}"
# shellcheck disable=SC2086 # one word per file
node node_modules/vitest/vitest.mjs run --project server $ISOLAB_VM_TESTS --maxWorkers=1 \
  --reporter=default --reporter=json --outputFile.json=/tmp/vitest.json | cat
vitest_exit=${PIPESTATUS[0]}
if [ -f /tmp/vitest.json ]; then
  counts=$(node -e 'const r = require("/tmp/vitest.json"); console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0))')
  passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
  # How long each file and test took in the VM, for whoever budgets the stage.
  echo; echo "Durations in the VM:"
  node -e '
    const r = require("/tmp/vitest.json");
    for (const file of r.testResults) {
      console.log(`${((file.endTime - file.startTime) / 1000).toFixed(0).padStart(6)} s  ${file.name.replace("/opt/isolab/", "")}`);
      for (const test of file.assertionResults) console.log(`${((test.duration ?? 0) / 1000).toFixed(1).padStart(8)} s    ${test.status === "passed" ? "✓" : "✗"} ${test.title}`);
    }'
fi
[ "$vitest_exit" = 0 ] || [ "$failed" -gt 0 ] || failed=$((failed + 1)) # vitest failed without a failed test (a crash)
echo "guest: tests done $(($(date +%s) - stage_started)) s after the guest started them"

echo
echo "cgroup-v2-vm: $passed passed, $failed failed"
echo "ISOLAB_VM_EXIT=$([ "$failed" = 0 ] && echo 0 || echo 1)"
sync
echo o >/proc/sysrq-trigger
sleep 60
