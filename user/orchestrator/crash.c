// SPDX-License-Identifier: AGPL-3.0-or-later
/* The loss of an unclean stop of `weir run` made visible: what the in-process
 * ring held (accepted, not yet stored) is written to a small file beside the
 * embedded database every 100 ms, marked clean at an orderly stop; the next
 * start reads it (contract in orchestrator.h, orch_crash_guard). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator.h"

/* Why a file and not a table: it is written ten times a second, which a
 * MergeTree would pay for with a part each; kill -9 leaves the page cache
 * alone, so a pwrite() without fsync() is what the next start reads (a
 * power cut may lose the last ones: then the engine's own data is the
 * question). Why every 100 ms: what arrived since the last write is not in
 * the count; at the 2.5M flows/s aimed at, 100 ms is a few thousand
 * datagrams. */
#define CRASH_PERIOD_MS 100
#define CRASH_FILE	"weir-ring.state"
/* One record, overwritten in place, always this long (numbers padded): a
 * shorter one never leaves the tail of a longer one behind. */
#define CRASH_FMT                                                                                  \
	"weir ring state v1 clean=%d accepted=%20" PRIu64 " released=%20" PRIu64                   \
	" flows_decoded=%20" PRIu64 " flows_stored=%20" PRIu64 "\n"

struct orch_crash_guard {
	int fd;
	char path[4096];
	orch_crash_counts_fn counts;
	void *ctx;
	pthread_t thread;
	int started;
	_Atomic int stop;
	pthread_mutex_t mu; /* one writer of the file at a time */
	uint64_t lost;	    /* what the previous start found, for tests */
};

static void counts_get(struct orch_crash_guard *g, struct orch_crash_counts *c)
{
	memset(c, 0, sizeof(*c));
	g->counts(g->ctx, c);
	/* (the callback reads released before accepted: never negative) */
	if (c->released > c->accepted)
		c->released = c->accepted;
	if (c->flows_stored > c->flows_decoded)
		c->flows_stored = c->flows_decoded;
}

static int record_write(struct orch_crash_guard *g, int clean)
{
	struct orch_crash_counts c;
	char line[256];
	int n, r = 0;

	counts_get(g, &c);
	n = snprintf(line, sizeof(line), CRASH_FMT, clean, c.accepted, c.released, c.flows_decoded,
		     c.flows_stored);
	pthread_mutex_lock(&g->mu);
	if (pwrite(g->fd, line, (size_t)n, 0) != n)
		r = errno ? -errno : -EIO;
	pthread_mutex_unlock(&g->mu);
	return r;
}

/* The previous run's record: logged and counted when it did not stop
 * cleanly. An absent or unreadable record (first start, a weir before this
 * file) says nothing. */
static void previous_read(struct orch_crash_guard *g, struct metrics_registry *metrics)
{
	struct metric_series *m =
	    !metrics ? NULL
		     : metrics_counter(
			   metrics, "weir_bus_ring_lost_at_crash_total",
			   "Datagrams the in-process ring held (accepted, not yet stored) when "
			   "an earlier weir run on this database stopped uncleanly (kill -9, "
			   "crash, power cut), as last recorded: at most what was lost",
			   NULL, NULL);
	uint64_t acc, rel, fd, fs;
	char buf[512];
	ssize_t n;
	int clean;

	n = pread(g->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	if (sscanf(buf,
		   "weir ring state v1 clean=%d accepted=%" SCNu64 " released=%" SCNu64
		   " flows_decoded=%" SCNu64 " flows_stored=%" SCNu64,
		   &clean, &acc, &rel, &fd, &fs) != 5) {
		log_warn("ring state unreadable: the loss of an unclean stop is not known",
			 "path=%s", g->path);
		return;
	}
	if (clean)
		return;
	g->lost = acc > rel ? acc - rel : 0;
	metric_add(m, g->lost);
	log_warn("unclean stop: datagrams in flight were lost",
		 "datagrams_up_to=%" PRIu64 " flows_decoded_not_stored=%" PRIu64
		 " accepted=%" PRIu64 " path=%s",
		 g->lost, fd > fs ? fd - fs : 0, acc, g->path);
}

static void *guard_main(void *arg)
{
	struct orch_crash_guard *g = arg;
	int failed = 0;

	while (!atomic_load(&g->stop)) {
		if (record_write(g, 0) < 0 && !failed++)
			log_warn("cannot write the ring state: an unclean stop will not be "
				 "reported",
				 "path=%s errno=%d", g->path, errno);
		clock_sleep_ms(CRASH_PERIOD_MS);
	}
	return NULL;
}

int orch_crash_guard_new(const struct store_config *cfg, struct metrics_registry *metrics,
			 orch_crash_counts_fn counts, void *ctx, struct orch_crash_guard **out,
			 struct error *err)
{
	const char *url = cfg->url ? cfg->url : "";
	struct orch_crash_guard *g;
	int r;

	*out = NULL;
	if (strncmp(url, "embedded://", 11) != 0 || !url[11])
		return 0; /* a server: no directory of ours (see orchestrator.h) */
	g = calloc(1, sizeof(*g));
	if (!g)
		return error_set(err, -ENOMEM, "orchestrator: out of memory");
	g->counts = counts;
	g->ctx = ctx;
	pthread_mutex_init(&g->mu, NULL);
	if (snprintf(g->path, sizeof(g->path), "%s/%s", url + 11, CRASH_FILE) >=
	    (int)sizeof(g->path)) {
		r = error_set(err, -ENAMETOOLONG, "orchestrator: %s: path too long", url);
		goto fail;
	}
	g->fd = open(g->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (g->fd < 0) {
		r = error_set(err, -errno, "orchestrator: cannot open %s: %s", g->path,
			      strerror(errno));
		goto fail;
	}
	previous_read(g, metrics);
	if (ftruncate(g->fd, 0) < 0 || record_write(g, 0) < 0) {
		r = error_set(err, -errno, "orchestrator: cannot write %s: %s", g->path,
			      strerror(errno));
		close(g->fd);
		goto fail;
	}
	*out = g;
	return 0;
fail:
	pthread_mutex_destroy(&g->mu);
	free(g);
	return r;
}

int orch_crash_guard_start(struct orch_crash_guard *g, struct error *err)
{
	int r;

	if (!g || g->started)
		return 0;
	r = -pthread_create(&g->thread, NULL, guard_main, g);
	if (r < 0)
		return error_set(err, r, "orchestrator: cannot start a thread: %s", strerror(-r));
	g->started = 1;
	return 0;
}

uint64_t orch_crash_guard_lost(const struct orch_crash_guard *g)
{
	return g ? g->lost : 0;
}

void orch_crash_guard_free(struct orch_crash_guard *g)
{
	if (!g)
		return;
	if (g->started) {
		atomic_store(&g->stop, 1);
		pthread_join(g->thread, NULL);
	}
	if (record_write(g, 1) < 0)
		log_warn("cannot mark the ring state clean", "path=%s errno=%d", g->path, errno);
	close(g->fd);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
