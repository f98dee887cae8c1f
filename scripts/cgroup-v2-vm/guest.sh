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

# Every signal that can end a process, with its sender, into the kernel's trace buffer (not the
# console): read only if lab-server or vitest ends without a word (explain_silent_end). Not SIGCHLD,
# SIGCONT, SIGURG (Go's preemption, runc sends many), SIGWINCH, timers or real-time signals.
trace=/sys/kernel/tracing
if mount -t tracefs tracefs $trace 2>/dev/null && [ -d $trace/events/signal/signal_generate ]; then
  echo 8192 >$trace/buffer_size_kb
  echo 'sig < 32 && sig != 14 && sig != 17 && sig != 18 && sig != 23 && sig != 26 && sig != 27 && sig != 28' >$trace/events/signal/signal_generate/filter
  echo 1 >$trace/events/signal/signal_generate/enable
else
  trace=
fi

# Once a minute, into the console log (not the tests' stream): the guest's load and the processes
# that used the most CPU in that minute, to tell a starved VM from a busy one and see what is busy.
(
  exec >/dev/ttyS0 2>&1
  while sleep 60; do
    echo "guest monitor: $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg), up $(cut -d' ' -f1 /proc/uptime) s, idle $(cut -d' ' -f2 /proc/uptime) s"
    ps -eo pid,pcpu,time,rss,args --sort=-time | head -n 8 | cut -c1-160
  done
) &
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
# How a process of the stage ended, from its wait status.
describe_end() { # NAME PID STATUS
  if [ "$3" -gt 128 ]; then echo "guest: $1 (pid $2) was killed by SIG$(kill -l $(($3 - 128)))"; else echo "guest: $1 (pid $2) exited with status $3"; fi
}
# When lab-server or vitest ends without a word: who signalled it, what the kernel said, what
# still runs, memory and pids. (On 2026-12-01 vitest ended 15 s into its run with no line at all,
# and in a later run lab-server ended while starting with an empty log.)
explain_silent_end() { # NAME PID
  echo; echo "▸ $1 ended without a word; the guest as it was left"
  if [ -n "$trace" ]; then
    echo "Signals sent to $1 (pid $2) or to any node or cat process, sender first (last 40):"
    sed -n 's/^ *//; /signal_generate/p' $trace/trace | grep -E "pid=$2 |comm=(node|cat) " | tail -n 40
    echo "The last 10 signals traced:"; sed -n 's/^ *//; /signal_generate/p' $trace/trace | tail -n 10
    echo "All signals traced, by signal: $(grep -o 'sig=[0-9]*' $trace/trace | sort | uniq -c | tr -s ' \n' ' ')"
  fi
  # Without the register and memory-statistics lines of OOM reports, which would fill the tail.
  echo "Kernel messages (last 30, OOM reports' details left out):"
  dmesg | grep -Ev '^\[[ 0-9.]+\] ([a-z_]+ [0-9]+|\[ *[0-9]+\] .*| .*|[A-Z][A-Za-z]*: .*|Node .*|[0-9]+ .*)$' | tail -n 30
  echo "The first stage's lab-server log (last 20 lines):"; tail -n 20 /tmp/lab-server.log
  echo "Processes left:"; ps -eo pid,ppid,pgid,sid,tty,stat,etime,rss,args --sort=pid | cut -c1-200
  echo "Memory:"; free -m
  echo "Pids: $(ls /proc | grep -c '^[0-9]') processes, $(ls /proc/[0-9]*/task | grep -c '^[0-9]') threads, pid_max $(cat /proc/sys/kernel/pid_max), init.scope pids.current $(cat /sys/fs/cgroup/init.scope/pids.current), load $(cat /proc/loadavg)"
  echo "Cgroups left: $(cd /sys/fs/cgroup && find . -mindepth 1 -maxdepth 3 -type d | tr '\n' ' ')"
}

passed=0
failed=0
stage_started=$(date +%s)

# 1. lab-server itself starts on this host (preflight passes) and answers /healthz.
echo; echo "▸ lab-server start and /healthz"
# One node process with tsx's loader (`node --import tsx`, as `npm start` and the service files
# start it: lab-server/src/launch.ts), so that the SIGTERM below reaches lab-server itself. Not
# tsx's CLI: it relays a signal to lab-server in a child process, and kills that child with SIGKILL
# unless the child reports the signal back within 30 ms, which this emulated guest misses. Then
# lab-server died without closing its sandboxes, the check below passed all the same, and their
# containers and cgroups were left beside the tests.
state_dir=/run/isolab cgroup_parent=isolab
ISOLAB_HOST=127.0.0.1 ISOLAB_PORT=3901 ISOLAB_STATE_DIR=$state_dir ISOLAB_CGROUP_PARENT=$cgroup_parent \
  node --import tsx lab-server/src/main.ts >/tmp/lab-server.log 2>&1 &
server=$!
# Polls until it answers or exits (a refused start exits at once, naming the problem). In bash
# (/dev/tcp), not node: a node poller took a quarter of the emulated CPUs from lab-server's start.
healthz() { # 0: answered 200, 2: answered otherwise (both print the answer), 1: nothing listens yet
  exec 3<>/dev/tcp/127.0.0.1/3901 || return 1
  printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  local response; response=$(cat <&3); exec 3<&-
  echo "/healthz: $(printf '%s\n' "$response" | head -n 1 | tr -d '\r') $(printf '%s\n' "$response" | tail -n 1)"
  [[ $response == "HTTP/1."?" 200"* ]] || return 2
}
(
  for _ in $(seq 600); do
    kill -0 $server 2>/dev/null || exit 1
    healthz 2>/dev/null
    case $? in 0) exit 0 ;; 2) exit 1 ;; esac
    sleep 1
  done
  exit 1
) &
poller=$!
wait $poller; poll_exit=$?
if [ "$poll_exit" = 0 ]; then
  passed=$((passed + 1)); echo "✓ lab-server started and answered /healthz ($(($(date +%s) - stage_started)) s)"
else
  failed=$((failed + 1)); echo "✗ lab-server did not answer /healthz; its log:"; tail -n 40 /tmp/lab-server.log
  describe_end "the /healthz poll" $poller $poll_exit
  if ! kill -0 $server 2>/dev/null; then
    wait $server; server_exit=$?
    describe_end lab-server $server $server_exit
    explain_silent_end lab-server $server
  elif [ "$poll_exit" -gt 128 ]; then
    explain_silent_end "the /healthz poll" $poller
  fi
fi
# And stops on SIGTERM (as a service manager stops it) within a bound, having closed every
# sandbox: /healthz counted its warm ones, and none of their containers or cgroups may be left.
if [ -n "${server_exit:-}" ]; then
  : # it ended before it answered: counted above
else
  kill -TERM $server 2>/dev/null
  for _ in $(seq 300); do kill -0 $server 2>/dev/null || break; sleep 1; done
  if kill -0 $server 2>/dev/null; then
    failed=$((failed + 1)); echo "✗ lab-server did not stop within 300 s of SIGTERM; its log:"; tail -n 40 /tmp/lab-server.log
    kill -KILL $server 2>/dev/null
    wait $server 2>/dev/null
  else
    wait $server; server_exit=$?
    containers=$(ls $state_dir/runc 2>/dev/null | tr '\n' ' ')
    cgroups=$(cd /sys/fs/cgroup/$cgroup_parent 2>/dev/null && ls -d sbx-* 2>/dev/null | tr '\n' ' ')
    if [ "$server_exit" = 0 ] && [ -z "$containers$cgroups" ]; then
      passed=$((passed + 1)); echo "✓ lab-server stopped on SIGTERM and closed its sandboxes"
    else
      failed=$((failed + 1))
      echo "✗ lab-server ended with status $server_exit on SIGTERM; containers left: ${containers:-none}; cgroups left: ${cgroups:-none}; its log:"
      tail -n 20 /tmp/lab-server.log
    fi
  fi
fi

# 2. The server tests that depend on the host's cgroups and kernel (the host chose the files).
# One file at a time: the lessons file already plays two lessons at once. (--no-file-parallelism:
# vitest takes the server project's own maxWorkers of 2 over --maxWorkers=1, so with that flag two
# files ran at once here, the lessons beside the limits file's hogs.) The tests' waits are
# ISOLAB_TEST_SLOWDOWN times longer here; their assertions are unchanged.
echo; echo "▸ lab-server tests against real sandboxes (waits x$ISOLAB_TEST_SLOWDOWN): $ISOLAB_VM_TESTS${ISOLAB_LESSONS:+ (lessons: $ISOLAB_LESSONS)}"
# (Piped, so that vitest's stdout is not a terminal; the subshell records vitest's pid and
# becomes vitest.)
# shellcheck disable=SC2086 # one word per file
# Each lesson's line (lessons.test.ts) as it finishes, so that a run the watchdog ends still shows
# where the time went.
export ISOLAB_LESSON_TIMINGS=/tmp/lesson-timings.txt
: >"$ISOLAB_LESSON_TIMINGS"
tail -n 0 -F "$ISOLAB_LESSON_TIMINGS" 2>/dev/null | sed -u 's/^/lesson time: /' &
timings_tail=$!
(echo $BASHPID >/tmp/vitest.pid; exec node node_modules/vitest/vitest.mjs run --project server $ISOLAB_VM_TESTS --no-file-parallelism \
  --reporter=default --reporter=json --outputFile.json=/tmp/vitest.json) | cat
vitest_exit=${PIPESTATUS[0]}
kill $timings_tail 2>/dev/null
vitest_pid=$(cat /tmp/vitest.pid)
describe_end vitest $vitest_pid $vitest_exit
if [ -f /tmp/vitest.json ]; then
  counts=$(node -e 'const r = require("/tmp/vitest.json"); console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0))')
  passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
  # How long each file and test took in the VM, for whoever budgets the stage.
  echo; echo "Durations in the VM:"
  node -e '
    const r = require("/tmp/vitest.json");
    for (const file of r.testResults) {
      console.log(`${((file.endTime - file.startTime) / 1000).toFixed(0).padStart(6)} s  ${file.name.replace("/opt/isolab/", "")}`);
      for (const test of file.assertionResults) {
        const mark = test.status === "passed" ? "✓" : test.status === "failed" ? "✗" : "↓";
        console.log(`${((test.duration ?? 0) / 1000).toFixed(1).padStart(8)} s    ${mark} ${test.title}${mark === "↓" ? ` (${test.status})` : ""}`);
      }
    }'
  if [ -s "$ISOLAB_LESSON_TIMINGS" ]; then echo; echo "Where each lesson's time went:"; sort "$ISOLAB_LESSON_TIMINGS"; fi
fi
if [ "$vitest_exit" != 0 ] && { [ ! -f /tmp/vitest.json ] || [ "$vitest_exit" -gt 128 ] || [ "${counts#* }" = 0 ]; }; then
  # vitest failed without a failed test (a crash, a kill): what is left to go on.
  failed=$((failed + 1))
  explain_silent_end vitest $vitest_pid
fi
echo "guest: tests done $(($(date +%s) - stage_started)) s after the guest started them"

echo
echo "cgroup-v2-vm: $passed passed, $failed failed"
echo "ISOLAB_VM_EXIT=$([ "$failed" = 0 ] && echo 0 || echo 1)"
sync
echo o >/proc/sysrq-trigger
sleep 60
