// SPDX-License-Identifier: AGPL-3.0-or-later
/* What a run of `weir bench store` or `weir bench e2e` leaves behind besides
 * its rate: resident memory of processes, bytes of tables and directories on
 * disk, and the throw-away directories of embedded databases. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_internal.h"

int bench_mem_read(pid_t pid, struct bench_mem *m)
{
	char path[64], line[256];
	FILE *f;

	memset(m, 0, sizeof(*m));
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			m->rss = kb * 1024;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			m->hwm = kb * 1024;
	}
	fclose(f);
	return m->rss ? 0 : -ENOENT;
}

void bench_mem_reset_peak(pid_t pid)
{
	char path[64];
	int fd;

	/* "5" resets VmHWM to the current RSS (Linux 4.0+): without it the
	 * peak of an earlier run in this process would be reported again. */
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/clear_refs");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "5", 1) < 0) {
		/* an older kernel: the peak is then the process's */
	}
	close(fd);
}

/* nftw has no context argument: one walk at a time (the benches run on one
 * thread when they measure this). */
static _Thread_local uint64_t walk_bytes;

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		walk_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

uint64_t bench_dir_bytes(const char *dir)
{
	walk_bytes = 0;
	if (!dir || !dir[0] || nftw(dir, add_entry, 16, FTW_PHYS) < 0)
		return 0;
	return walk_bytes;
}

int bench_tmpdir_new(const char *name, char *out, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char templ[PATH_MAX];

	snprintf(templ, sizeof(templ), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(templ))
		return -errno;
	if (!realpath(templ, out) && strlen(templ) < size)
		snprintf(out, size, "%s", templ);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void bench_dir_remove(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int bench_table_disk(struct store_client *c, const char *database, const char *table,
		     struct bench_table_disk *d)
{
	char q[512], *answer = NULL;
	unsigned long long on_disk = 0, compressed = 0, rows = 0;
	int r;

	memset(d, 0, sizeof(*d));
	/* Active parts only: what stays once the merges are done. */
	snprintf(q, sizeof(q),
		 "SELECT sum(bytes_on_disk), sum(data_compressed_bytes), sum(rows) FROM "
		 "system.parts WHERE active AND database = %s%s%s AND table = '%s'",
		 database ? "'" : "", database ? database : "currentDatabase()",
		 database ? "'" : "", table);
	r = store_client_query(c, q, &answer);
	if (r < 0)
		return r;
	if (sscanf(answer, "%llu\t%llu\t%llu", &on_disk, &compressed, &rows) != 3)
		r = -EIO;
	free(answer);
	d->bytes_on_disk = on_disk;
	d->compressed_bytes = compressed;
	d->rows = rows;
	return r;
}

int bench_table_settle(struct store_client *c, const char *table, struct bench_table_disk *compact)
{
	char q[256];
	uint64_t n = 0;
	int r;

	memset(compact, 0, sizeof(*compact));
	snprintf(q, sizeof(q), "OPTIMIZE TABLE %s FINAL", table);
	r = store_client_query(c, q, NULL);
	if (r < 0)
		return r;
	/* 18.16 has no part_type (every part is wide): nothing more to do. */
	snprintf(q, sizeof(q),
		 "SELECT count() FROM system.parts WHERE active AND database = "
		 "currentDatabase() AND table = '%s' AND part_type = 'Compact'",
		 table);
	if (store_client_query_u64(c, q, &n) < 0 || n == 0)
		return 0;
	r = bench_table_disk(c, NULL, table, compact);
	if (r < 0)
		return r;
	/* The embedded engine keeps parts below 4M rows compact (cheaper
	 * inserts, user/store/chdb.c), where each column's granules are
	 * compressed apart: ~3 % more bytes. A day of flows is far above
	 * that, so what sits for the retention period is wide. */
	snprintf(q, sizeof(q),
		 "ALTER TABLE %s MODIFY SETTING min_bytes_for_wide_part = 0, "
		 "min_rows_for_wide_part = 0",
		 table);
	r = store_client_query(c, q, NULL);
	if (r == 0) {
		snprintf(q, sizeof(q), "OPTIMIZE TABLE %s FINAL", table);
		r = store_client_query(c, q, NULL);
	}
	return r;
}

const char *bench_mib(uint64_t bytes, char *buf, size_t size)
{
	if (!bytes)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.0f MiB", (double)bytes / (1 << 20));
	return buf;
}

uint64_t bench_engine_event(struct store_client *c, const char *event)
{
	char q[160];
	uint64_t v = 0;

	snprintf(q, sizeof(q), "SELECT sum(value) FROM system.events WHERE event = '%s'", event);
	store_client_query_u64(c, q, &v);
	return v;
}
