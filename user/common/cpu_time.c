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

/* utime + stime of a /proc .../stat file, in seconds; -1 when unknown. */
static double stat_s(const char *path)
{
	char buf[1024], *p;
	unsigned long long ut, st;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* fields 14 and 15 (utime, stime), counted after the ")" of comm */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double cpu_pid_s(pid_t pid)
{
	char path[64];

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return stat_s(path);
}

double cpu_threads_named_s(const char *comm)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double sum = 0;

	while (d && (e = readdir(d)) != NULL) {
		char path[300], name[64] = "";
		double s;
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
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		s = stat_s(path);
		if (s > 0)
			sum += s;
	}
	if (d)
		closedir(d);
	return sum;
}
