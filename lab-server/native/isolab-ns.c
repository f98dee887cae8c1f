/*
 * isolab-ns: the namespace work lab-server cannot do from Node, where every call is a syscall
 * on a thread of a multithreaded process (setns into a user namespace, unshare, mount_setattr
 * need a single-threaded caller).
 *
 * It runs on the host, as host root, started by lab-server before a sandbox exists, and it never
 * calls execve after entering a namespace: a learner can make `/bin/sh` mean anything inside
 * their own user namespace (binfmt_misc, mounts), so no host program may be started there.
 *
 *   isolab-ns idmapped-view SOURCE TARGET DISK_ID SHOWN_ID COUNT
 *     Mounts SOURCE at TARGET read-only and nosuid, with ids DISK_ID.. shown as SHOWN_ID.. (an idmapped
 *     mount, Linux >= 5.12). Debian 12's util-linux 2.38.1 is built without the new mount API,
 *     so `mount -o X-mount.idmap=` is silently ignored there; this does the same with syscalls.
 *
 *   isolab-ns userns HOST_ID COUNT SIGPENDING NAME=VALUE... -- NAME=VALUE...
 *     Makes the user namespaces of one sandbox, owned by HOST_ID (see userns-limits.ts):
 *       outer: owned by HOST_ID, maps HOST_ID.. to itself; the per-sandbox caps (NAME=VALUE,
 *              written to its /proc/sys/user/NAME) count everything in the sandbox, every uid.
 *       inner: a child of outer, maps 0.. to HOST_ID..; runc joins it; the same caps per uid.
 *     RLIMIT_SIGPENDING is SIGPENDING while both are made, which caps the queued signals of the
 *     whole sandbox (the kernel takes a namespace's cap from its creator's rlimit). Prints
 *     "ready PID" once PID's /proc/PID/ns/user is the inner namespace, then holds it until its
 *     stdin closes.
 *
 *   isolab-ns short-slice SLICE_NS PID
 *     Asks the scheduler for a slice of SLICE_NS for each child of PID (a terminal's runc: its
 *     child is the sandbox's shell), with SCHED_FLAG_RESET_ON_FORK so that what the shell starts
 *     gets the default slice again. See SHELL_SLICE_NS in runtime/ns-helper.ts for why. On EEVDF (Linux >= 6.12)
 *     this is sched_setattr's sched_runtime for SCHED_OTHER; older kernels accept and ignore it.
 *
 * Exit status 0 on success; otherwise a message on stderr and status 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "isolab-ns: ");
  vfprintf(stderr, format, args);
  if (errno) fprintf(stderr, ": %s", strerror(errno));
  fprintf(stderr, "\n");
  va_end(args);
  _exit(1);
}

static unsigned long number(const char *text) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno || *end || end == text) die("not a number: %s", text);
  return value;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", path);
  size_t length = strlen(text);
  if (write(fd, text, length) != (ssize_t)length) die("write %s", path);
  close(fd);
}

/* A one-byte signal between the processes below; a closed pipe means the other side failed. */
static void send_byte(int fd) {
  if (write(fd, "x", 1) != 1) die("signal");
}
static void wait_byte(int fd) {
  char byte;
  if (read(fd, &byte, 1) != 1) {
    errno = 0;
    die("the other side failed");
  }
}

/* Writes "INSIDE OUTSIDE COUNT" to /proc/PID/{uid,gid}_map. */
static void write_maps(pid_t pid, unsigned long inside, unsigned long outside, unsigned long count) {
  char path[64], map[96];
  snprintf(map, sizeof map, "%lu %lu %lu\n", inside, outside, count);
  snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
  write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
  write_file(path, map);
}

/* Writes NAME=VALUE pairs to /proc/sys/user/NAME, in the caller's user namespace. */
static void write_limits(int count, char **limits) {
  for (int i = 0; i < count; i++) {
    char name[64], path[128];
    const char *equals = strchr(limits[i], '=');
    if (!equals || equals - limits[i] >= (long)sizeof name) die("bad limit %s", limits[i]);
    snprintf(name, sizeof name, "%.*s", (int)(equals - limits[i]), limits[i]);
    snprintf(path, sizeof path, "/proc/sys/user/%s", name);
    if (access(path, F_OK) != 0) continue; /* an older kernel without this count */
    char value[32];
    snprintf(value, sizeof value, "%s\n", equals + 1);
    write_file(path, value);
  }
}

/* A child that enters a new user namespace and waits; returns its pid. `ready` is read by the caller. */
static pid_t child_in_new_userns(int *ready, int *go) {
  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC)) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    if (unshare(CLONE_NEWUSER)) die("unshare");
    send_byte(up[1]);
    *ready = up[1];
    *go = down[0];
    return 0;
  }
  close(up[1]);
  close(down[0]);
  wait_byte(up[0]);
  *ready = up[0];
  *go = down[1];
  return pid;
}

static int idmapped_view(char **argv) {
  const char *source = argv[0], *target = argv[1];
  unsigned long disk = number(argv[2]), shown = number(argv[3]), count = number(argv[4]);
  int ready, go;
  pid_t child = child_in_new_userns(&ready, &go);
  if (child == 0) {
    wait_byte(go); /* never sent: the parent kills this child once it holds the namespace */
    _exit(0);
  }
  /* For an idmapped mount, an id on disk is read as an id inside the namespace. */
  write_maps(child, disk, shown, count);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", child);
  int userns = open(path, O_RDONLY | O_CLOEXEC);
  if (userns < 0) die("open %s", path);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);

  int tree = syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) die("open_tree %s", source);
  /* nosuid: the view is reachable by path on the host, and its setuid binaries would make a local
     user the sandbox's root uid there. Inside, no_new_privs already ignores setuid bits. */
  struct mount_attr attr = {
      .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
      .userns_fd = userns,
      .propagation = MS_PRIVATE,
  };
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr)) die("mount_setattr (an idmapped mount needs Linux >= 5.12 and a filesystem that supports it) on %s", source);
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)) die("move_mount to %s", target);
  return 0;
}

static int sandbox_userns(int argc, char **argv) {
  unsigned long host = number(argv[0]), count = number(argv[1]), sigpending = number(argv[2]);
  /* The limits: the outer namespace's, then "--", then the inner one's. */
  char **outer_limits = argv + 3, **inner_limits = argv + argc;
  int outer_count = argc - 3, inner_count = 0;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      outer_count = i - 3;
      inner_limits = argv + i + 1;
      inner_count = argc - i - 1;
    }
  }
  struct rlimit signals = {sigpending, sigpending}, queues = {0, 0};
  if (setrlimit(RLIMIT_SIGPENDING, &signals) || setrlimit(RLIMIT_MSGQUEUE, &queues)) die("setrlimit");

  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC)) die("pipe");
  pid_t outer = fork();
  if (outer < 0) die("fork");
  if (outer > 0) {
    close(up[1]);
    close(down[0]);
    wait_byte(up[0]);
    write_maps(outer, host, host, count);
    send_byte(down[1]);
    int status;
    if (waitpid(outer, &status, 0) < 0) die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }

  /* The outer namespace is owned by the sandbox's own host uid, so the kernel's per-user counts
     at the host level (inotify, queued signals, namespaces) are this sandbox's, not host root's. */
  close(up[0]);
  close(down[1]);
  if (setgroups(0, NULL) || setresgid(host, host, host) || setresuid(host, host, host)) die("setresuid %lu", host);
  /* Changing uid made this process undumpable, which gives its /proc files to host root; the
     inner namespace's maps are written below by this process, as their owner. */
  if (prctl(PR_SET_DUMPABLE, 1)) die("prctl");
  if (unshare(CLONE_NEWUSER)) die("unshare");
  send_byte(up[1]);
  wait_byte(down[0]);
  write_limits(outer_count, outer_limits);

  int ready, go;
  pid_t inner = child_in_new_userns(&ready, &go);
  if (inner > 0) {
    write_maps(inner, 0, host, count);
    send_byte(go);
    int status;
    if (waitpid(inner, &status, 0) < 0) die("waitpid");
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  wait_byte(go);
  write_limits(inner_count, inner_limits);
  /* Nothing the sandbox runs is a child of this process, and it never executes anything. */
  if (prctl(PR_SET_DUMPABLE, 0)) die("prctl");
  printf("ready %d\n", getpid());
  fflush(stdout);
  char buffer[64];
  while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) continue;
  _exit(0);
}

/* The kernel's struct sched_attr, first version (48 bytes); glibc 2.36 has no header for it. */
struct sched_attr_v0 {
  unsigned int size, policy;
  unsigned long long flags;
  int nice;
  unsigned int priority;
  unsigned long long runtime, deadline, period;
};
#define SCHED_FLAG_RESET_ON_FORK_ 0x01

/* Gives one process the slice; returns 0, or 1 if the kernel refused. */
static int set_slice(unsigned long pid, unsigned long slice) {
  /* sched_setattr sets the policy and nice value too: keep the ones the process has (not with
     SCHED_FLAG_KEEP_POLICY, which keeps the old reset-on-fork as well). Only the fair policies
     have slices. */
  int policy = sched_getscheduler((pid_t)pid);
  if (policy < 0) return 0; /* gone */
  policy &= ~SCHED_RESET_ON_FORK;
  if (policy != SCHED_OTHER && policy != SCHED_BATCH) return 0;
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, (id_t)pid);
  if (errno) return 0;
  struct sched_attr_v0 attr = {
    .size = sizeof attr,
    .policy = (unsigned int)policy,
    .flags = SCHED_FLAG_RESET_ON_FORK_,
    .nice = nice,
    .runtime = slice,
  };
  if (syscall(SYS_sched_setattr, (pid_t)pid, &attr, 0) == 0 || errno == ESRCH) return 0;
  fprintf(stderr, "isolab-ns: sched_setattr %lu: %s\n", pid, strerror(errno));
  return 1;
}

static int short_slice(char **argv) {
  unsigned long slice = number(argv[0]), parent = number(argv[1]);
  /* A child belongs to the thread that forked it (or, reparented, to any thread of the
     subreaper), and runc is a Go program with many threads: read every thread's list. */
  char path[96];
  snprintf(path, sizeof path, "/proc/%lu/task", parent);
  DIR *tasks = opendir(path);
  if (!tasks) die("open %s", path);
  int failed = 0;
  struct dirent *task;
  while ((task = readdir(tasks))) {
    if (task->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/%lu/task/%.16s/children", parent, task->d_name);
    FILE *children = fopen(path, "re");
    if (!children) continue; /* the thread ended */
    unsigned long pid;
    while (fscanf(children, "%lu", &pid) == 1) failed |= set_slice(pid, slice);
    fclose(children);
  }
  closedir(tasks);
  return failed;
}

int main(int argc, char **argv) {
  if (argc == 7 && strcmp(argv[1], "idmapped-view") == 0) return idmapped_view(argv + 2);
  if (argc >= 5 && strcmp(argv[1], "userns") == 0) return sandbox_userns(argc - 2, argv + 2);
  if (argc == 4 && strcmp(argv[1], "short-slice") == 0) return short_slice(argv + 2);
  fprintf(stderr, "usage: isolab-ns idmapped-view SOURCE TARGET DISK_ID SHOWN_ID COUNT\n       isolab-ns userns HOST_ID COUNT SIGPENDING OUTER_NAME=VALUE... -- INNER_NAME=VALUE...\n       isolab-ns short-slice SLICE_NS PID\n");
  return 2;
}
