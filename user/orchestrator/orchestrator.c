// SPDX-License-Identifier: AGPL-3.0-or-later
/* The orchestrator's loop: schema migrations once ClickHouse answers, then
 * retention on a schedule, each under the orchestrator lock (lock.c); as
 * `weir orchestrator` (orch_run) or on a thread inside a role (orch_service). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator.h"

/* How often a ready service checks that ClickHouse still answers, and how
 * often it says again that it does not. */
#define SERVICE_CHECK_MS 5000
#define SERVICE_LOG_MS	 60000

/* orch_migrate with stop_fn heeded while waiting for the lock. */
static int migrate_locked(struct store_client *c, const struct store_config *cfg,
			  orch_stop_fn stop_fn, void *ctx)
{
	struct orch_lock *l;
	int r = orch_lock_acquire(c, cfg, "migrations", stop_fn, ctx, &l);

	if (r < 0)
		return r;
	r = orch_migrate_unlocked(c, cfg, 0);
	int rr = orch_lock_release(c, l);
	return r < 0 ? r : rr < 0 ? rr : r; /* (the steps applied) */
}

static int retention_locked(struct store_client *c, const struct store_config *cfg,
			    orch_stop_fn stop_fn, void *ctx)
{
	struct orch_lock *l;
	int r = orch_lock_acquire(c, cfg, "retention", stop_fn, ctx, &l);

	if (r < 0)
		return r;
	r = orch_retention_run_unlocked(c, cfg, (uint64_t)time(NULL));
	orch_lock_release(c, l); /* lost: logged; dropping twice is harmless */
	return r;
}

int orch_run(const struct store_config *cfg, int once, orch_stop_fn stop_fn, void *ctx)
{
	struct store_client *c;
	uint64_t delay = cfg->retry_min_ms;
	struct error err;
	int r;

	/* (embedded://: no libchdb.so is said here, with `make deps`) */
	r = store_client_new(cfg, &c, &err);
	if (r < 0) {
		log_error("orchestrator: no ClickHouse client", "error=%s", err.text);
		return r;
	}
	for (;;) {
		r = migrate_locked(c, cfg, stop_fn, ctx);
		if (r >= 0)
			break;
		if (r == -ECANCELED) {
			r = 0;
			goto out;
		}
		/* Lock lost midway (another orchestrator judged this one
		 * dead): the steps are idempotent, run them again under the
		 * lock. Unreachable: wait for ClickHouse. A failed statement
		 * is a bug or a server we cannot handle, and a lock held past
		 * lock-wait means another orchestrator is stuck: retrying
		 * would not help. */
		if (r == -ENOLCK)
			continue;
		if (r != -ECONNREFUSED && r != -ETIMEDOUT)
			goto out;
		if (once)
			goto out;
		log_warn("waiting for clickhouse", "retry_in_ms=%llu", (unsigned long long)delay);
		if (clock_wait_or_stop(delay, stop_fn, ctx)) {
			r = 0;
			goto out;
		}
		delay = delay * 2 > cfg->retry_max_ms ? cfg->retry_max_ms : delay * 2;
	}
	for (;;) {
		r = retention_locked(c, cfg, stop_fn, ctx);
		if (r == -ECANCELED) {
			r = 0;
			break;
		}
		if (r >= 0)
			log_info("retention pass done", "partitions_dropped=%d", r);
		if (once)
			break;
		if (clock_wait_or_stop(cfg->retention_interval_ms, stop_fn, ctx))
			break;
	}
	r = r < 0 && once ? r : 0;
out:
	store_client_free(c);
	return r;
}

/* ---- the orchestrator inside a role ---- */

struct orch_service {
	struct orch_service_params p;
	struct store_client *c;
	struct metric_series *m_up, *m_ready, *m_unreachable;
	pthread_t thread;
	int started;
	_Atomic int stop;
	pthread_mutex_t mu;
	char reason[512]; /* under mu; "" once healthy */
	/* the service thread's own: since when ClickHouse is away */
	int down;
	uint64_t down_ms, last_log_ms;
	uint64_t accepted_up; /* p.accepted() when ClickHouse last answered */
	int64_t names_stamp;  /* orch_names_file_stamp() at the last names load */
	char down_since[32];
};

static int service_stopping(void *ctx)
{
	struct orch_service *s = ctx;

	return atomic_load(&s->stop);
}

static void set_reason(struct orch_service *s, const char *reason)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	pthread_mutex_unlock(&s->mu);
}

static int unreachable(int r)
{
	return r == -ECONNREFUSED || r == -ETIMEDOUT;
}

/* ClickHouse did not answer (or refused, after the start): says so at once,
 * then once a minute, with what waits for it. */
static void note_down(struct orch_service *s, const char *error)
{
	char reason[sizeof(s->reason)];
	uint64_t now = clock_mono_ms(), buffered;

	metric_add(s->m_unreachable, 1);
	metric_set(s->m_up, 0);
	if (!s->down) {
		time_t t = time(NULL);
		struct tm tm;

		s->down = 1;
		s->down_ms = now;
		s->last_log_ms = 0;
		gmtime_r(&t, &tm);
		strftime(s->down_since, sizeof(s->down_since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(reason, sizeof(reason), "clickhouse at %s unreachable since %s: %s", s->p.cfg->url,
		 s->down_since, error);
	set_reason(s, reason);
	if (s->last_log_ms && now - s->last_log_ms < SERVICE_LOG_MS)
		return;
	s->last_log_ms = now;
	if (!s->p.accepted) {
		log_warn("ClickHouse unreachable, flows wait in the bus until it answers",
			 "url=%s since=%s error=\"%s\"", s->p.cfg->url, s->down_since, error);
		return;
	}
	buffered = s->p.accepted(s->p.ctx) - s->accepted_up;
	log_warn("ClickHouse unreachable, flows wait in the bus until it answers",
		 "url=%s since=%s datagrams_buffered=%llu error=\"%s\"", s->p.cfg->url,
		 s->down_since, (unsigned long long)buffered, error);
}

static void note_up(struct orch_service *s, int ready)
{
	metric_set(s->m_up, 1);
	if (s->down)
		log_info("ClickHouse answers again", "url=%s down_since=%s down_ms=%llu",
			 s->p.cfg->url, s->down_since,
			 (unsigned long long)(clock_mono_ms() - s->down_ms));
	s->down = 0;
	if (s->p.accepted)
		s->accepted_up = s->p.accepted(s->p.ctx);
	set_reason(s, ready ? "" : "clickhouse schema not ready");
}

/* One line a person can act on, for a failure retrying will not heal. */
static void fatal(struct orch_service *s, int r, const char *why)
{
	const struct store_config *cfg = s->p.cfg;
	char reason[768];

	if (r == -EACCES)
		snprintf(reason, sizeof(reason),
			 "ClickHouse at %s refused user \"%s\" (clickhouse.username and "
			 "clickhouse.password): %s",
			 cfg->url, cfg->username && cfg->username[0] ? cfg->username : "default",
			 why);
	else if (r == -EPROTONOSUPPORT)
		snprintf(reason, sizeof(reason),
			 "database %s at %s was migrated by a later weir (schema newer than "
			 "version %u): upgrade this weir",
			 cfg->database, cfg->url, ORCH_SCHEMA_VERSION);
	else if (unreachable(r))
		snprintf(reason, sizeof(reason), "ClickHouse does not answer at %s: %s", cfg->url,
			 why);
	else
		snprintf(reason, sizeof(reason), "ClickHouse at %s: schema migration failed: %s",
			 cfg->url, why && why[0] ? why : strerror(-r));
	metric_set(s->m_up, r == -EACCES || unreachable(r) ? 0 : 1);
	set_reason(s, reason);
	if (s->p.on_fatal)
		s->p.on_fatal(s->p.ctx, r, reason);
}

/* Migrations until they are done, retried while ClickHouse is away. Returns
 * the steps applied, -ECANCELED when stopped, or another -errno after
 * fatal(). */
static int service_migrate(struct orch_service *s)
{
	const struct store_config *cfg = s->p.cfg;
	uint64_t delay = cfg->retry_min_ms;
	int r;

	for (;;) {
		r = migrate_locked(s->c, cfg, service_stopping, s);
		if (r >= 0 || r == -ECANCELED)
			return r;
		if (r == -ENOLCK) /* lock lost midway: the steps are idempotent */
			continue;
		if (!unreachable(r) || s->p.unreachable_is_fatal) {
			fatal(s, r, store_client_error(s->c));
			return r;
		}
		note_down(s, store_client_error(s->c));
		if (clock_wait_or_stop(delay, service_stopping, s))
			return -ECANCELED;
		delay = delay * 2 > cfg->retry_max_ms ? cfg->retry_max_ms : delay * 2;
	}
}

/* clickhouse.asns or an ASN .mmdb changed on disk: the names are read
 * again and replace the table's, under
 * the lock (no restart). A file being written may be read half: the next
 * change reads it again. */
static void names_reload(struct orch_service *s)
{
	int64_t stamp;
	struct orch_lock *l;

	if (orch_names_file_stamp(s->p.cfg, &stamp) < 0 || stamp == s->names_stamp)
		return;
	if (orch_lock_acquire(s->c, s->p.cfg, "names", service_stopping, s, &l) < 0)
		return;
	log_info("AS names sources changed, reloading", "asns_file=%s asn_databases=%zu",
		 s->p.cfg->asns && s->p.cfg->asns[0] ? s->p.cfg->asns : "-",
		 s->p.cfg->asn_databases ? s->p.cfg->asn_databases->count : 0);
	if (orch_names_load(s->c, s->p.cfg, NULL) == 0)
		s->names_stamp = stamp;
	orch_lock_release(s->c, l);
}

/* The role's on_ready hook (a repair of the consolidated tables, then the
 * outlet let go), retried as the migrations are while ClickHouse does not
 * answer: a server restarted during a repair is not a reason to end weir
 * (the repair is redone from the journal; store.h). Returns 0, -ECANCELED
 * when stopped, or another -errno after fatal(). */
static int service_on_ready(struct orch_service *s, struct error *err)
{
	uint64_t delay = s->p.cfg->retry_min_ms;
	int r;

	for (;;) {
		r = s->p.on_ready(s->p.ctx, s->c, err);
		if (r >= 0) {
			if (s->down)
				note_up(s, 1);
			return 0;
		}
		if (!unreachable(r) || s->p.unreachable_is_fatal) {
			fatal(s, r, err->text);
			return r;
		}
		note_down(s, err->text);
		if (clock_wait_or_stop(delay, service_stopping, s))
			return -ECANCELED;
		delay = delay * 2 > s->p.cfg->retry_max_ms ? s->p.cfg->retry_max_ms : delay * 2;
	}
}

static void *service_main(void *arg)
{
	struct orch_service *s = arg;
	const struct store_config *cfg = s->p.cfg;
	struct error err = {""};
	uint64_t next_retention;
	int r;

	orch_names_file_stamp(cfg, &s->names_stamp); /* before: a change during it is seen */
	r = service_migrate(s);

	if (r < 0)
		return NULL;
	note_up(s, 0);
	log_info("ClickHouse schema ready", "url=%s database=%s steps_applied=%d", cfg->url,
		 cfg->database, r);
	if (s->p.on_ready && service_on_ready(s, &err) < 0)
		return NULL;
	metric_set(s->m_ready, 1);
	set_reason(s, "");
	next_retention = clock_mono_ms(); /* a first pass now, as `weir orchestrator` */
	for (;;) {
		if (s->p.retention && clock_mono_ms() >= next_retention) {
			r = retention_locked(s->c, cfg, service_stopping, s);
			if (r >= 0)
				log_info("retention pass done", "partitions_dropped=%d", r);
			next_retention = clock_mono_ms() + cfg->retention_interval_ms;
		}
		if (clock_wait_or_stop(SERVICE_CHECK_MS, service_stopping, s))
			break;
		r = store_client_query_nodb(s->c, "SELECT 1", NULL);
		if (r == 0) {
			note_up(s, 1);
			names_reload(s);
		} else
			note_down(s, store_client_error(s->c));
	}
	return NULL;
}

int orch_service_new(const struct orch_service_params *p, struct orch_service **out,
		     struct error *err)
{
	struct orch_service *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "orchestrator: out of memory");
	s->p = *p;
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->reason, sizeof(s->reason), "clickhouse schema not ready (connecting to %s)",
		 p->cfg->url);
	r = store_client_new(p->cfg, &s->c, err);
	if (r < 0) {
		orch_service_free(s);
		return r;
	}
	if (p->metrics) {
		s->m_up = metrics_gauge(p->metrics, "weir_store_up",
					"1 when ClickHouse answered the last check", NULL, NULL);
		s->m_ready =
		    metrics_gauge(p->metrics, "weir_store_schema_ready",
				  "1 once the schema is migrated and flows are stored", NULL, NULL);
		s->m_unreachable = metrics_counter(
		    p->metrics, "weir_store_unreachable_total",
		    "checks and migration attempts ClickHouse did not answer", NULL, NULL);
	}
	*out = s;
	return 0;
}

int orch_service_start(struct orch_service *s, struct error *err)
{
	int r = -pthread_create(&s->thread, NULL, service_main, s);

	if (r < 0)
		return error_set(err, r, "orchestrator: cannot start a thread: %s", strerror(-r));
	s->started = 1;
	return 0;
}

void orch_service_stop(struct orch_service *s)
{
	if (!s || !s->started)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

void orch_service_free(struct orch_service *s)
{
	if (!s)
		return;
	orch_service_stop(s);
	store_client_free(s->c);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int orch_service_health(struct orch_service *s, char *reason, size_t size)
{
	int r;

	pthread_mutex_lock(&s->mu);
	r = s->reason[0] ? -EAGAIN : 0;
	snprintf(reason, size, "%s", r ? s->reason : "ok");
	pthread_mutex_unlock(&s->mu);
	return r;
}
