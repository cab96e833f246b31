/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* CPU time of this thread, this process, another process or some of this
 * process's threads: what the benchmarks divide by the work they did. */
#ifndef WEIR_COMMON_CPU_TIME_H
#define WEIR_COMMON_CPU_TIME_H

#include <stddef.h>
#include <sys/types.h>

/* User + system seconds of the calling thread. */
double cpu_thread_s(void);
/* User + system seconds of this process, every thread. */
double cpu_self_s(void);
/* User + system seconds of process `pid` (its CPU clock, else /proc), -1 when
 * unknown. */
double cpu_pid_s(pid_t pid);
/* Summed over this process's threads whose name (comm) is `comm`. */
double cpu_threads_named_s(const char *comm);
/* Reads a /proc stat file (".../stat") into buf[0..cap); returns where its
 * third field (the state) starts, after "pid (comm) ", or NULL when it
 * cannot be read. */
const char *proc_stat_read(const char *path, char *buf, size_t cap);
/* Calls `each` with the /proc directory of each of this process's threads
 * named `comm` ("/proc/self/task/TID"); returns how many there were. */
int threads_named(const char *comm, void (*each)(const char *task, void *ctx), void *ctx);

#endif
