// SPDX-License-Identifier: AGPL-3.0-or-later
/* The orchestrator lock: one orchestrator at a time runs migrations or
 * retention on a database, with ClickHouse itself as the only shared service
 * (no ZooKeeper, no transactions, no lightweight DELETE on 18.16). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator.h"

/* How it works, and why this way.
 *
 * The mutex is CREATE TABLE without IF NOT EXISTS: ClickHouse creates a
 * table under a per-name guard and refuses a name that exists (code 57), so
 * of several orchestrators creating the same table exactly one succeeds, on
 * 18.16 as on current versions. The lock is a series of generations: tables
 * orchestrator_lock_<N>. The holder is whoever created the highest N. Its
 * identity (host, pid, start time, purpose) and the server time of creation
 * are DEFAULT expressions of the table's columns, so they exist from the very
 * CREATE (readable in system.columns before any row is written); the holder
 * then INSERTs heartbeat rows (server time, so hosts' clocks do not matter)
 * from a thread while it works, and a last row with released = 1 when done.
 *
 * Taking a free (released) or stale (no heartbeat for lock-stale) lock of
 * generation N means creating generation N + 1: two takers race on the same
 * CREATE and only one wins, and a holder of N that is in fact alive sees
 * N + 1 at its next heartbeat and knows it has lost. A fixed table name with
 * DROP or RENAME to take over was the alternative, but a taker that read the
 * old holder's state can then drop or rename a lock that a third one has just
 * created (the read and the DROP are not atomic together); with generations a
 * taker's CREATE can only succeed on the number it read as current plus one.
 * Release marks the table instead of dropping it, so the highest generation
 * never disappears and numbers only grow; the next holder drops the older
 * tables. One case remains: a slow taker that read N may create N + 1 after
 * N + 1 was taken, released and dropped by the holder of N + 2; hence the
 * re-check after create: a generation is held only if no higher one exists,
 * otherwise the loser drops its table and starts again. */

#define LOCK_PREFIX    "orchestrator_lock_"
#define MAX_OLD_TABLES 32
#define HOLDER_MAX     200

struct orch_lock {
	const struct store_config *cfg;
	struct store_client *hb; /* the heartbeat thread's own connection */
	uint64_t gen;
	char table[64];
	char holder[HOLDER_MAX];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping; /* under mu */
	int lost;     /* under mu */
};

/* What the tables say about the current generation. */
struct lock_state {
	uint64_t gen; /* highest generation, 0 = none yet */
	uint64_t old[MAX_OLD_TABLES];
	unsigned nold; /* lower generations still there (to drop) */
	char holder[HOLDER_MAX];
	uint32_t created, heartbeat, now; /* server times, seconds */
	int released;
	uint32_t age; /* now - latest of created and heartbeat */
};

static uint64_t stale_s(const struct store_config *cfg)
{
	return (cfg->lock_stale_ms + 999) / 1000;
}

/* Heartbeats come 4 times per stale period: a holder must miss three in a
 * row (and a second of DateTime rounding) before another takes over. */
static uint64_t heartbeat_ms(const struct store_config *cfg)
{
	uint64_t ms = cfg->lock_stale_ms / 4;

	return ms < 250 ? 250 : ms;
}

/* A waiter looks again this often: the lock is free at most a second
 * before it notices. */
static uint64_t poll_ms(const struct store_config *cfg)
{
	uint64_t ms = cfg->lock_stale_ms / 10;

	return ms < 100 ? 100 : ms > 1000 ? 1000 : ms;
}

/* "host=a pid=1 started=2026-01-02T03:04:05Z for=migrations": what the
 * logs of the others show. It goes into a SQL string literal: only
 * [A-Za-z0-9._:=-] and spaces are kept (of the host name and purpose). */
static void make_holder(char *out, size_t size, const char *purpose)
{
	char host[256] = "", raw[HOLDER_MAX + 64], when[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t n = 0;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(raw, sizeof(raw), "host=%.64s pid=%d started=%s for=%.40s",
		 host[0] ? host : "unknown", (int)getpid(), when, purpose);
	for (const char *p = raw; *p && n < size - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._:=- ", *p))
			out[n++] = *p;
	out[n] = 0;
}

/* A query, asked again when 18.16 answers that a table does not exist (code
 * 60): it may while another orchestrator drops an old generation, even for
 * a statement about another table (seen once in CI on a CREATE). */
static int query_racing_drops(struct store_client *c, const char *q, char **out)
{
	int r;

	for (int tries = 0;; tries++) {
		r = store_client_query(c, q, out);
		if (r != -EIO || tries == 9 || !strstr(store_client_error(c), "doesn't exist"))
			return r;
		usleep(50000);
	}
}

/* Generations present: the highest in st->gen, the others in st->old. */
static int list_generations(struct store_client *c, struct lock_state *st)
{
	char *out = NULL, *line, *save = NULL;
	int r;

	st->gen = 0;
	st->nold = 0;
	r = query_racing_drops(c,
			       "SELECT name FROM system.tables WHERE database = currentDatabase() "
			       "AND substring(name, 1, 18) = '" LOCK_PREFIX "'",
			       &out);
	if (r < 0) {
		log_error("orchestrator lock: cannot list lock tables", "error=\"%s\"",
			  store_client_error(c));
		return r;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *num = line + strlen(LOCK_PREFIX);
		uint64_t g;

		if (num[0] == 0 || strspn(num, "0123456789") != strlen(num))
			continue;
		g = strtoull(num, NULL, 10);
		if (g == 0)
			continue;
		if (g > st->gen) {
			if (st->gen && st->nold < MAX_OLD_TABLES)
				st->old[st->nold++] = st->gen;
			st->gen = g;
		} else if (st->nold < MAX_OLD_TABLES) {
			st->old[st->nold++] = g;
		}
	}
	free(out);
	return 0;
}

/* Copies a DEFAULT expression's string literal (TabSeparated shows it as
 * \'...\') without quotes and backslashes: make_holder() puts none in. */
static void unquote(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src && n < size - 1; src++)
		if (*src != '\'' && *src != '\\')
			dst[n++] = *src;
	dst[n] = 0;
}

/* Holder, times and released flag of generation st->gen. Returns 0, -ENOENT
 * when the table went away meanwhile (list again), or -errno. */
static int read_state(struct store_client *c, struct lock_state *st)
{
	char q[512], *out = NULL, *line, *save = NULL;
	unsigned long long hb = 0, now = 0;
	unsigned rel = 0;
	int r;

	snprintf(q, sizeof(q),
		 "SELECT name, default_expression FROM system.columns WHERE database = "
		 "currentDatabase() AND table = '" LOCK_PREFIX "%" PRIu64
		 "' AND name IN ('holder', 'created')",
		 st->gen);
	r = store_client_query(c, q, &out);
	if (r < 0)
		goto fail;
	snprintf(st->holder, sizeof(st->holder), "unknown");
	st->created = 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');

		if (!tab)
			continue;
		*tab++ = 0;
		if (!strcmp(line, "holder"))
			unquote(st->holder, sizeof(st->holder), tab);
		else if (!strcmp(line, "created") && strchr(tab, '('))
			st->created = (uint32_t)strtoul(strchr(tab, '(') + 1, NULL, 10);
	}
	free(out);
	out = NULL;
	snprintf(q, sizeof(q),
		 "SELECT toUInt32(max(heartbeat)), max(released), toUInt32(now()) FROM " LOCK_PREFIX
		 "%" PRIu64,
		 st->gen);
	r = store_client_query(c, q, &out);
	if (r < 0)
		goto fail;
	if (sscanf(out, "%llu\t%u\t%llu", &hb, &rel, &now) != 3) {
		log_error("orchestrator lock: unexpected answer", "answer=\"%.100s\"", out);
		free(out);
		return -EIO;
	}
	free(out);
	st->heartbeat = (uint32_t)hb;
	st->released = rel != 0;
	st->now = (uint32_t)now;
	{
		uint32_t last = st->heartbeat > st->created ? st->heartbeat : st->created;
		st->age = st->now > last ? st->now - last : 0;
	}
	return 0;
fail:
	/* Gone (UNKNOWN_TABLE: "doesn't exist" on 18.16, "does not exist" on
	 * current servers), or being dropped by its releasing holder while we
	 * read it (TABLE_IS_DROPPED, code 218): list again either way. */
	if (r == -EIO && (strstr(store_client_error(c), "doesn't exist") ||
			  strstr(store_client_error(c), "does not exist") ||
			  strstr(store_client_error(c), "Code: 218")))
		return -ENOENT;
	log_error("orchestrator lock: cannot read lock table",
		  "table=" LOCK_PREFIX "%" PRIu64 " error=\"%s\"", st->gen, store_client_error(c));
	return r;
}

static int table_exists(struct store_client *c, uint64_t gen, uint64_t *n)
{
	char q[256], *out;
	int r;

	snprintf(q, sizeof(q),
		 "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		 "name = '" LOCK_PREFIX "%" PRIu64 "'",
		 gen);
	r = query_racing_drops(c, q, &out);
	if (r < 0)
		return r;
	*n = strtoull(out, NULL, 10);
	free(out);
	return 0;
}

/* Tries to create generation `gen`. Returns 1 when this call created it,
 * 0 when it exists (another orchestrator won), or -errno. */
static int create_generation(struct store_client *c, uint64_t gen, const char *holder)
{
	char q[640], why[512];
	uint64_t now, n;
	int r;

	r = store_client_query_u64(c, "SELECT toUInt32(now())", &now);
	if (r < 0)
		return r;
	snprintf(q, sizeof(q),
		 "CREATE TABLE " LOCK_PREFIX "%" PRIu64 " (heartbeat DateTime, released UInt8, "
		 "holder String DEFAULT '%s', created DateTime DEFAULT toDateTime(%" PRIu64
		 ")) ENGINE = Log",
		 gen, holder, now);
	r = query_racing_drops(c, q, NULL);
	if (r == 0)
		return 1;
	if (r != -EIO)
		return r;
	/* "already exists" (or, on some versions, "is being created right
	 * now"): lost the race. Anything else is an error of its own. (The
	 * CREATE's answer is kept: reading system.tables while a generation
	 * is dropped can fail too, with a message of its own.) */
	snprintf(why, sizeof(why), "%s", store_client_error(c));
	if (strstr(why, "already exists") || strstr(why, "right now"))
		return 0;
	if (table_exists(c, gen, &n) == 0 && n > 0)
		return 0;
	log_error("orchestrator lock: cannot create lock table",
		  "table=" LOCK_PREFIX "%" PRIu64 " error=\"%s\"", gen, why);
	return r;
}

static void drop_generation(struct store_client *c, uint64_t gen)
{
	char q[128];

	snprintf(q, sizeof(q), "DROP TABLE IF EXISTS " LOCK_PREFIX "%" PRIu64, gen);
	if (store_client_query(c, q, NULL) < 0)
		log_warn("orchestrator lock: cannot drop old lock table",
			 "table=" LOCK_PREFIX "%" PRIu64 " error=\"%s\"", gen,
			 store_client_error(c));
}

static int insert_heartbeat(struct store_client *c, const struct orch_lock *l, int released)
{
	char q[256];

	snprintf(q, sizeof(q), "INSERT INTO %s (heartbeat, released) SELECT now(), %d", l->table,
		 released);
	return store_client_query(c, q, NULL);
}

/* 1 when `l` is still the highest generation, 0 when lost (its table gone
 * or a higher one created), -errno when ClickHouse does not tell. */
static int still_held(struct store_client *c, const struct orch_lock *l, struct lock_state *st)
{
	int r = list_generations(c, st);

	if (r < 0)
		return r;
	return st->gen == l->gen;
}

static void mark_lost(struct orch_lock *l, struct store_client *c, struct lock_state *st)
{
	int first;

	pthread_mutex_lock(&l->mu);
	first = !l->lost;
	l->lost = 1;
	pthread_mutex_unlock(&l->mu);
	if (!first)
		return;
	if (st->gen > l->gen && read_state(c, st) == 0)
		log_error("orchestrator lock lost: another orchestrator took it over as stale",
			  "table=%s new_holder=\"%s\" heartbeat_every_ms=%" PRIu64, l->table,
			  st->holder, heartbeat_ms(l->cfg));
	else
		log_error("orchestrator lock lost: its table is gone", "table=%s", l->table);
}

/* Refreshes the heartbeat until release; notices a takeover. */
static void *heartbeat_main(void *arg)
{
	struct orch_lock *l = arg;
	struct lock_state st;
	struct timespec dl;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping) {
		clock_deadline(&dl, CLOCK_MONOTONIC, heartbeat_ms(l->cfg));
		if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) != ETIMEDOUT || l->stopping)
			continue;
		pthread_mutex_unlock(&l->mu);
		if (insert_heartbeat(l->hb, l, 0) < 0)
			log_warn("orchestrator lock: heartbeat failed", "table=%s error=\"%s\"",
				 l->table, store_client_error(l->hb));
		if (still_held(l->hb, l, &st) == 0)
			mark_lost(l, l->hb, &st);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void lock_free(struct orch_lock *l)
{
	if (!l)
		return;
	store_client_free(l->hb);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* The lock object of generation `gen`, with its own connection for the
 * heartbeat. Returns 0 with *out, or -errno with *out = NULL and `err`
 * filled. */
static int lock_new(const struct store_config *cfg, uint64_t gen, const char *holder,
		    struct orch_lock **out, struct error *err)
{
	struct orch_lock *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!l)
		return error_set(err, -ENOMEM, "orchestrator: out of memory for a lock");
	l->cfg = cfg;
	l->gen = gen;
	snprintf(l->table, sizeof(l->table), LOCK_PREFIX "%" PRIu64, gen);
	snprintf(l->holder, sizeof(l->holder), "%s", holder);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	r = store_client_new(cfg, &l->hb, err);
	if (r < 0) {
		lock_free(l);
		return r;
	}
	*out = l;
	return 0;
}

/* The lock tables live in the database: create it first. Two orchestrators
 * may race on this too; IF NOT EXISTS can still fail for the loser on some
 * versions, so an error is one only if the database is not there after. */
static int ensure_database(struct store_client *c, const struct store_config *cfg)
{
	char q[256];
	uint64_t n = 0;
	int r;

	if (!cfg->database[0] ||
	    strspn(cfg->database,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
		strlen(cfg->database)) {
		log_error("bad clickhouse database name",
			  "database=\"%s\" allowed=\"[A-Za-z0-9_]+\"", cfg->database);
		return -EINVAL;
	}
	snprintf(q, sizeof(q), "CREATE DATABASE IF NOT EXISTS %s", cfg->database);
	r = store_client_query_nodb(c, q, NULL);
	if (r != -EIO)
		goto out;
	snprintf(q, sizeof(q), "SELECT count() FROM system.databases WHERE name = '%s'",
		 cfg->database);
	if (store_client_query_u64(c, q, &n) == 0 && n > 0)
		return 0;
out:
	/* (an unreachable ClickHouse is the caller's to report, once a minute) */
	if (r < 0 && r != -ECONNREFUSED && r != -ETIMEDOUT)
		log_error("cannot create database", "url=%s database=%s error=\"%s\"", cfg->url,
			  cfg->database, store_client_error(c));
	return r;
}

int orch_lock_acquire(struct store_client *c, const struct store_config *cfg, const char *purpose,
		      orch_stop_fn stop_fn, void *ctx, struct orch_lock **lockp)
{
	uint64_t start = clock_mono_ms(), deadline = start + cfg->lock_wait_ms;
	char holder[HOLDER_MAX], waited_for[HOLDER_MAX] = "";
	uint64_t logged_ms = 0;
	struct lock_state st, prev;
	struct orch_lock *l;
	int r;

	*lockp = NULL;
	r = ensure_database(c, cfg);
	if (r < 0)
		return r;
	make_holder(holder, sizeof(holder), purpose);
	for (;;) {
		int stale = 0;

		if (stop_fn && stop_fn(ctx))
			return -ECANCELED;
		r = list_generations(c, &st);
		if (r < 0)
			return r;
		if (st.gen) {
			r = read_state(c, &st);
			if (r == -ENOENT)
				continue; /* dropped between the two reads: look again */
			if (r < 0)
				return r;
			stale = !st.released && st.age > stale_s(cfg);
			if (!st.released && !stale) {
				uint64_t now = clock_mono_ms();

				if (now >= deadline) {
					log_error("gave up waiting for the orchestrator lock",
						  "holder=\"%s\" table=" LOCK_PREFIX "%" PRIu64
						  " waited_s=%" PRIu64 " lock_wait_s=%" PRIu64
						  " heartbeat_age_s=%u",
						  st.holder, st.gen, (now - start) / 1000,
						  cfg->lock_wait_ms / 1000, st.age);
					return -EBUSY;
				}
				/* Once per holder, then every minute. */
				if (strcmp(waited_for, st.holder) || now - logged_ms >= 60000) {
					logged_ms = now;
					log_info("waiting for the orchestrator lock",
						 "holder=\"%s\" table=" LOCK_PREFIX "%" PRIu64
						 " heartbeat_age_s=%u wait_at_most_s=%" PRIu64,
						 st.holder, st.gen, st.age,
						 (deadline - now + 999) / 1000);
					snprintf(waited_for, sizeof(waited_for), "%s", st.holder);
				}
				if (clock_wait_or_stop(poll_ms(cfg), stop_fn, ctx))
					return -ECANCELED;
				continue;
			}
		}
		prev = st;
		r = create_generation(c, st.gen + 1, holder);
		if (r < 0)
			return r;
		if (r == 0) {
			clock_sleep_ms(50); /* another one won: read its state */
			continue;
		}
		/* Created: the re-check (see the top of this file). */
		r = lock_new(cfg, st.gen + 1, holder, &l, NULL);
		if (r < 0) {
			drop_generation(c, st.gen + 1);
			return r;
		}
		r = still_held(c, l, &st);
		if (r <= 0) {
			drop_generation(c, l->gen);
			lock_free(l);
			if (r < 0)
				return r;
			continue;
		}
		break;
	}
	r = insert_heartbeat(c, l, 0);
	if (r < 0) {
		log_error("orchestrator lock: cannot write heartbeat", "table=%s error=\"%s\"",
			  l->table, store_client_error(c));
		drop_generation(c, l->gen);
		lock_free(l);
		return r;
	}
	if (prev.gen && !prev.released)
		log_warn("took over a stale orchestrator lock",
			 "previous_holder=\"%s\" previous_table=" LOCK_PREFIX "%" PRIu64
			 " heartbeat_age_s=%u lock_stale_s=%" PRIu64,
			 prev.holder, prev.gen, prev.age, stale_s(cfg));
	for (unsigned i = 0; i < st.nold; i++)
		drop_generation(c, st.old[i]);
	r = pthread_create(&l->thread, NULL, heartbeat_main, l);
	if (r) {
		drop_generation(c, l->gen);
		lock_free(l);
		return -r;
	}
	log_info("orchestrator lock taken", "table=%s holder=\"%s\" waited_ms=%" PRIu64, l->table,
		 holder, clock_mono_ms() - start);
	*lockp = l;
	return 0;
}

int orch_lock_release(struct store_client *c, struct orch_lock *l)
{
	struct lock_state st;
	int lost, r;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	lost = l->lost;
	if (!lost) {
		r = still_held(c, l, &st);
		if (r == 0) {
			mark_lost(l, c, &st);
			lost = 1;
		}
	}
	/* Marked, not dropped: the highest generation must stay (see the top).
	 * If this fails, the lock goes stale and the next one takes it over. */
	if (!lost && insert_heartbeat(c, l, 1) < 0)
		log_warn("orchestrator lock: cannot mark released; it frees itself after "
			 "lock-stale",
			 "table=%s error=\"%s\"", l->table, store_client_error(c));
	else if (!lost)
		log_debug("orchestrator lock released", "table=%s", l->table);
	lock_free(l);
	return lost ? -ENOLCK : 0;
}

/* Migrations are idempotent: when the lock was lost midway (another
 * orchestrator judged this one dead), run them again under a new lock. */
int orch_migrate(struct store_client *c, const struct store_config *cfg, unsigned target)
{
	struct orch_lock *l;
	int r, rr;

	for (int attempt = 0;; attempt++) {
		r = orch_lock_acquire(c, cfg, "migrations", NULL, NULL, &l);
		if (r < 0)
			return r;
		r = orch_migrate_unlocked(c, cfg, target);
		rr = orch_lock_release(c, l);
		if (rr != -ENOLCK || r < 0 || attempt == 2)
			return r < 0 ? r : rr < 0 ? rr : r;
	}
}

int orch_flows_rekey(struct store_client *c, const struct store_config *cfg)
{
	struct orch_lock *l;
	int r = orch_lock_acquire(c, cfg, "re-keying flows", NULL, NULL, &l);
	int rr;

	if (r < 0)
		return r;
	r = orch_migrate_unlocked(c, cfg, 0);
	if (r >= 0)
		r = orch_flows_rekey_unlocked(c, cfg);
	rr = orch_lock_release(c, l);
	return r < 0 ? r : rr < 0 ? rr : r;
}

int orch_retention_run(struct store_client *c, const struct store_config *cfg, uint64_t now_s)
{
	struct orch_lock *l;
	int r = orch_lock_acquire(c, cfg, "retention", NULL, NULL, &l);

	if (r < 0)
		return r;
	r = orch_retention_run_unlocked(c, cfg, now_s);
	/* Lost midway: another one ran retention too; dropping a partition
	 * twice is harmless, the log says what happened. */
	orch_lock_release(c, l);
	return r;
}
