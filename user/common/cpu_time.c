// SPDX-License-Identifier: AGPL-3.0-or-later
/* CPU time readings for the benchmarks (cpu_time.h). */
#include "cpu_time.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double cpu_thread_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

double cpu_self_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

const char *proc_stat_read(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	char *p;
	size_t n;

	if (!f || cap < 2) {
		if (f)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	/* comm may hold spaces and parentheses: the last ")" ends it */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p + 2 : NULL;
}

/* utime + stime of a /proc .../stat file, in seconds; -1 when unknown. */
static double stat_s(const char *path)
{
	char buf[1024];
	const char *p = proc_stat_read(path, buf, sizeof(buf));
	unsigned long long ut, st;

	/* fields 14 and 15 (utime, stime); p is at field 3 */
	if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Nanoseconds on the CPU of one task (/proc .../schedstat, first field);
 * -1 when unknown. /proc's utime and stime come in 10 ms ticks: too coarse
 * for a thread that works a few milliseconds every few seconds. */
static double schedstat_s(const char *path)
{
	unsigned long long ns;
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%llu", &ns);
	fclose(f);
	return n == 1 ? (double)ns / 1e9 : -1;
}

double cpu_pid_s(pid_t pid)
{
	char path[64];
	struct timespec ts;
	clockid_t id;

	if (pid <= 0)
		return -1;
	/* The process's CPU clock: every thread, nanoseconds. */
	if (clock_getcpuclockid(pid, &id) == 0 && clock_gettime(id, &ts) == 0)
		return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return stat_s(path);
}

int threads_named(const char *comm, void (*each)(const char *task, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL) {
		char path[300], name[64] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
		if (strcmp(name, comm) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s", e->d_name);
		each(path, ctx);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void add_thread_cpu(const char *task, void *ctx)
{
	char path[320];
	double s;

	snprintf(path, sizeof(path), "%s/schedstat", task);
	s = schedstat_s(path);
	if (s < 0) {
		snprintf(path, sizeof(path), "%s/stat", task);
		s = stat_s(path);
	}
	if (s > 0)
		*(double *)ctx += s;
}

double cpu_threads_named_s(const char *comm)
{
	double sum = 0;

	threads_named(comm, add_thread_cpu, &sum);
	return sum;
}
