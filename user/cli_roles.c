// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir run` (every role in one process, the in-process ring as the bus),
 * `weir inlet` (receive, hand to Kafka) and `weir outlet` (Kafka, decode,
 * store): option parsing, start-up with the flow inputs first and ClickHouse
 * brought in behind them, and a shutdown that loses nothing (inlet first,
 * drain the bus, final flush, close). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "cli.h"
#include "common/cli_opts.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/signals.h"
#include "console/console.h"
#include "demo/demo_exporter.h"
#include "http/http.h"
#include "inlet/inlet.h"
#include "orchestrator/orchestrator.h"
#include "enrich/enrich.h"
#include "outlet/outlet.h"
#include "store/store.h"
#include "weir_config.h"

#define DEFAULT_CONFIG "config/weir.yaml"

enum role {
	ROLE_RUN,
	ROLE_INLET,
	ROLE_OUTLET,
};

/* Signals: user/common/signals.h (the first SIGINT/SIGTERM starts the
 * orderly stop, the second makes flushes waiting for ClickHouse give up, the
 * third exits at once). */
struct roles {
	enum role role;
	const char *name;
	int demo;
	struct weir_config cfg;
	struct metrics_registry *metrics;
	struct http_listener *http;
	struct console *console;		       /* weir run only */
	struct console_query_endpoint *query_endpoint; /* weir run, embedded only */
	struct bus_producer *producer;
	struct bus_consumer **consumers;
	int ring;
	struct inlet *inlet;
	struct outlet *outlet;
	struct enrich *enrich; /* core/metadata/geoip/networks: given to the outlet */
	struct bus_kafka_flow_producer *flows_out; /* bus.kafka.flows-topic */
	struct demo_exporter *demo_exporter;
	/* migrations, then checks and retention (orchestrator.h); weir run and
	 * weir outlet */
	struct orch_service *store;
	struct orch_crash_guard *crash; /* weir run with the ring, embedded only */
	_Atomic int fatal;		/* -errno: the store cannot be used (store_fatal) */
	struct signals *sig;
};

/* The second signal: flushes waiting for ClickHouse give up (uncommitted
 * data stays in Kafka; the ring's is lost). */
static void give_up(void *ctx)
{
	log_warn("giving up waiting for ClickHouse: uncommitted data stays in Kafka, the ring's "
		 "is lost",
		 NULL);
	if (ctx)
		outlet_abort(ctx);
}

/* ---- options and configuration ---- */

static void usage(FILE *out, const void *ctx)
{
	const struct roles *r = ctx;
	static const char *const what[] = {
	    [ROLE_RUN] =
		"Runs every role in one process: the inlet (UDP on :2055, :4739 and :6343\n"
		"unless flow.inputs says otherwise), the outlet workers, the in-process\n"
		"bus (or Kafka when bus.type is kafka), ClickHouse migrations and\n"
		"retention, and the HTTP listener (/metrics, and the console unless\n"
		"console.enabled is false).\n",
	    [ROLE_INLET] = "Runs the collector role: receives flow datagrams and produces them to\n"
			   "Kafka (bus.type must be kafka), with the HTTP listener (/metrics).\n",
	    [ROLE_OUTLET] =
		"Runs the outlet role: consumes raw datagrams from Kafka, decodes them\n"
		"and stores the flows in ClickHouse (offsets committed once ClickHouse\n"
		"acknowledged), with the HTTP listener (/metrics).\n",
	};

	fprintf(out, "usage: weir %s [-c FILE]%s\n\n%s\n", r->name,
		r->role == ROLE_RUN ? " [--demo]" : "", what[r->role]);
	fprintf(out,
		"options:\n"
		"  -c, --config FILE  configuration (default %s when present, else the\n"
		"                     built-in defaults)\n",
		DEFAULT_CONFIG);
	if (r->role == ROLE_RUN)
		fprintf(out,
			"      --demo         also run a demo exporter that sends made-up flows\n"
			"                     (NetFlow v5/v9, IPFIX, sFlow) to this weir's UDP "
			"input\n");
	fprintf(out, "  -h, --help         this help\n\n"
		     "SIGINT/SIGTERM stop cleanly (inlet first, then the bus is drained and the\n"
		     "last batch stored); a second signal stops waiting for ClickHouse.\n");
}

/* Returns -1 to go on, else the exit code. */
static int parse_options(struct roles *r, int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"demo", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct cli_opts o;
	int c;

	*config = NULL;
	cli_opts_init(&o, argc, argv, "c:h", opts, usage, r);
	while ((c = cli_opts_next(&o)) >= 0) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'd':
			if (r->role != ROLE_RUN)
				return cli_opts_usage_error(&o);
			r->demo = 1;
			break;
		}
	}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (optind == argc)
		return -1;
	return cli_opts_usage_error(&o);
}

static int load_config(struct roles *r, const char *path)
{
	struct config_error err;
	int ret;

	if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path) {
		ret = weir_config_load(&r->cfg, path, &err);
		if (ret == 0)
			ret = bus_kafka_config_verify(&r->cfg.bus, r->cfg.doc, &err);
		if (ret < 0) {
			fprintf(stderr, "weir %s: %s\n", r->name, err.text);
			return ret;
		}
	} else {
		ret = weir_config_defaults(&r->cfg);
		if (ret < 0) {
			fprintf(stderr, "weir %s: out of memory\n", r->name);
			return ret;
		}
	}
	log_set_level((enum log_level)r->cfg.log.level);
	log_info("configuration loaded", "role=%s file=%s", r->name, path ? path : "(defaults)");
	return 0;
}

/* Without flow.inputs, `weir run` and `weir inlet` listen on the three
 * standard ports (NetFlow, IPFIX, sFlow). */
static int default_inputs(struct inlet_config *flow)
{
	static const char *const ports[] = {":2055", ":4739", ":6343"};
	struct inlet_input_config *items;

	if (flow->inputs.count)
		return 0;
	items = calloc(3, sizeof(*items));
	if (!items)
		return -ENOMEM;
	flow->inputs.items = items;
	flow->inputs.count = 3;
	for (int i = 0; i < 3; i++) {
		items[i].type = INLET_INPUT_UDP;
		items[i].listen = strdup(ports[i]);
		if (!items[i].listen)
			return -ENOMEM;
	}
	return 0;
}

/* ---- start-up pieces ---- */

static void clickhouse_hint(const struct roles *r)
{
	fprintf(stderr,
		"weir %s: ClickHouse does not answer at %s.\n"
		"  Start one, for instance a private one for the demo:  make demo  (mk/demo.sh\n"
		"  runs clickhouse-server under /var/tmp/weir-demo and weir with it), or\n"
		"  clickhouse-server --config-file=/etc/clickhouse-server/config.xml, then set\n"
		"  clickhouse.url in the configuration.\n",
		r->name, r->cfg.clickhouse.url);
}

/* The schema is ready: on the orchestrator service's thread, after the
 * migrations and before the outlet's first flush (the workers wait for
 * outlet_set_store_ready). Whatever must happen between the two goes here,
 * before that call, with the service's client `c`. Returns 0, or -errno with
 * `err` set (the role then ends, store_fatal). */
static int store_ready(void *ctx, struct store_client *c, struct error *err)
{
	struct roles *r = ctx;

	/* weir run's writers are the only ones: after a crash, the
	 * consolidated tables catch up with flows before they write. */
	if (r->role == ROLE_RUN && r->cfg.bus.type == BUS_TYPE_RING) {
		int ret = store_consolidation_repair(c);

		if (ret < 0)
			return error_set(err, ret, "repairing the consolidated tables failed: %s",
					 store_client_error(c));
	}
	if (r->outlet)
		outlet_set_store_ready(r->outlet, 1);
	log_info("ready", "role=%s", r->name);
	return 0;
}

/* Retrying cannot help (credentials refused, a newer schema...): say why and
 * end the role with a non-zero status. What the ring holds cannot be stored:
 * the outlet gives up at once. */
static void store_fatal(void *ctx, int error, const char *reason)
{
	struct roles *r = ctx;

	if (r->demo && (error == -ECONNREFUSED || error == -ETIMEDOUT))
		clickhouse_hint(r);
	else
		fprintf(stderr, "weir %s: %s\n", r->name, reason);
	atomic_store(&r->fatal, error < 0 ? error : -EIO);
	outlet_abort(r->outlet);
	signals_request_stop(r->sig);
}

/* The inlet's running total of datagrams the bus took, for the log line of
 * an unreachable ClickHouse. */
static uint64_t bus_accepted(void *ctx)
{
	struct roles *r = ctx;
	struct inlet_stats st;

	if (!r->inlet)
		return 0;
	inlet_get_stats(r->inlet, &st);
	return st.received - st.bus_dropped;
}

/* What the ring holds: accepted by the bus, not yet given back stored. */
static void ring_counts(void *ctx, struct orch_crash_counts *c)
{
	struct roles *r = ctx;
	struct outlet_totals t = {0};

	if (r->outlet) /* (before the inlet's count: never negative) */
		outlet_totals(r->outlet, &t);
	c->released = t.datagrams_released;
	c->flows_decoded = t.flows_decoded;
	c->flows_stored = t.flows_stored;
	c->accepted = bus_accepted(r);
}

static int store_health(void *ctx, char *reason, size_t size)
{
	struct roles *r = ctx;

	return orch_service_health(r->store, reason, size);
}

/* Made before anything starts, so that a clickhouse.url that cannot be
 * used (an embedded database another process holds) ends the role at once;
 * started last, behind the flow inputs. */
static int new_store_service(struct roles *r)
{
	struct orch_service_params p = {
	    .cfg = &r->cfg.clickhouse,
	    .metrics = r->metrics,
	    .retention = r->role == ROLE_RUN,
	    .unreachable_is_fatal = r->demo,
	    .on_ready = store_ready,
	    .on_fatal = store_fatal,
	    .accepted = r->role == ROLE_RUN ? bus_accepted : NULL,
	    .ctx = r,
	};
	struct error err = {""};
	int ret = orch_service_new(&p, &r->store, &err);

	/* (after the store's client: the engine holds the directory's lock) */
	if (ret == 0 && r->role == ROLE_RUN && r->cfg.bus.type == BUS_TYPE_RING)
		ret = orch_crash_guard_new(&r->cfg.clickhouse, r->metrics, ring_counts, r,
					   &r->crash, &err);
	if (ret < 0)
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
	return ret;
}

static int start_http(struct roles *r)
{
	struct error err = {""};
	int ret;

	ret = http_listener_new(r->cfg.http.listen, r->metrics, &r->http, &err);
	if (ret == 0 && r->store)
		ret = http_listener_add_health(r->http, store_health, r);
	if (ret == 0 && r->role == ROLE_RUN && r->cfg.console.enabled) {
		ret = console_new(&r->cfg.console, &r->cfg.clickhouse, r->http, r->metrics,
				  &r->console, &err);
		if (ret == 0)
			ret = console_start(r->console, &err);
	}
	if (ret == 0 && r->role == ROLE_RUN && r->cfg.clickhouse.query_endpoint.enabled) {
		ret = console_query_endpoint_new(&r->cfg.console, &r->cfg.clickhouse, r->metrics,
						 &r->query_endpoint, &err);
		if (ret == 0)
			ret = console_query_endpoint_start(r->query_endpoint, &err);
	}
	if (ret == 0)
		ret = http_listener_start(r->http, &err);
	if (ret < 0) {
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
		return ret;
	}
	log_info("HTTP listener ready", "listen=%s port=%u metrics=/metrics", r->cfg.http.listen,
		 http_listener_port(r->http));
	return 0;
}

static int start_bus(struct roles *r, int producer, int consumers)
{
	size_t n = r->cfg.outlet.workers;
	struct error err = {""};
	int ret;

	r->consumers = calloc(n, sizeof(*r->consumers));
	if (!r->consumers)
		return -ENOMEM;
	if (r->cfg.bus.type == BUS_TYPE_RING) {
		r->ring = 1;
		ret = bus_ring_shards_new(n, r->cfg.bus.ring_size,
					  (unsigned)r->cfg.bus.ring_exporter_share, r->metrics,
					  &r->producer, r->consumers, &err);
		if (ret < 0)
			fprintf(stderr, "weir %s: %s\n", r->name, err.text);
		return ret;
	}
	if (producer) {
		ret = bus_kafka_topic_ensure(&r->cfg.bus, &err);
		if (ret < 0)
			log_warn("Kafka topic not checked", "error=\"%s\"", err.text);
		ret = bus_kafka_producer_new(&r->cfg.bus, r->metrics, &r->producer, &err);
		if (ret < 0) {
			fprintf(stderr, "weir %s: Kafka producer: %s\n", r->name, err.text);
			return ret;
		}
	}
	for (size_t i = 0; consumers && i < n; i++) {
		ret = bus_kafka_consumer_new(&r->cfg.bus, r->metrics, &r->consumers[i], &err);
		if (ret < 0) {
			fprintf(stderr, "weir %s: Kafka consumer: %s\n", r->name, err.text);
			return ret;
		}
	}
	return 0;
}

static int start_outlet(struct roles *r)
{
	struct outlet_params p = {
	    .cfg = &r->cfg.outlet,
	    .store = &r->cfg.clickhouse,
	    .metrics = r->metrics,
	    .consumers = r->consumers,
	    .consumer_capacity = r->ring ? r->cfg.bus.ring_size : 0,
	};
	struct error err = {""};
	int ret = 0;

	/* The enriched flows' topic works with either bus: it only needs the
	 * brokers of bus.kafka. */
	if (r->cfg.bus.kafka.flows_topic && *r->cfg.bus.kafka.flows_topic) {
		ret = bus_kafka_flow_producer_new(&r->cfg.bus, r->metrics, &r->flows_out, &err);
		if (ret < 0) {
			fprintf(stderr, "weir %s: Kafka producer of %s: %s\n", r->name,
				r->cfg.bus.kafka.flows_topic, err.text);
			return ret; /* (the consumers are freed with the roles) */
		}
		p.flows_out = r->flows_out;
		log_info("enriched flows copied to Kafka", "topic=%s",
			 r->cfg.bus.kafka.flows_topic);
	}
	/* The stage the configuration load compiled, when there was a file. */
	r->enrich = weir_config_take_enrich(&r->cfg);
	if (r->enrich)
		ret = enrich_set_metrics(r->enrich, r->metrics, &err);
	else
		ret = enrich_new(&r->cfg.enrich, r->metrics, &r->enrich, &err);
	if (ret == 0)
		ret = enrich_start(r->enrich, &err);
	if (ret < 0) {
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
		return ret; /* (the consumers are freed with the roles) */
	}
	p.enrich = r->enrich;
	ret = outlet_new(&p, &r->outlet, &err);

	/* The outlet owns the consumers now, even on failure. */
	free(r->consumers);
	r->consumers = NULL;
	if (ret < 0) {
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
		return ret;
	}
	signals_set_context(r->sig, r->outlet);
	outlet_set_store_ready(r->outlet, 0); /* until store_ready() */
	ret = outlet_start(r->outlet, &err);
	if (ret < 0)
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
	else
		log_info("outlet started", "workers=%llu bus=%s",
			 (unsigned long long)r->cfg.outlet.workers, r->ring ? "ring" : "kafka");
	return ret;
}

static int start_inlet(struct roles *r)
{
	struct error err = {""};
	int ret = default_inputs(&r->cfg.flow);

	if (ret < 0)
		return ret;
	ret = inlet_new(&r->cfg.flow, r->producer, r->metrics, &r->inlet, &err);
	if (ret < 0) {
		fprintf(stderr, "weir %s: inlet: %s\n", r->name, err.text);
		return -EINVAL;
	}
	ret = inlet_start(r->inlet, &err);
	if (ret < 0) {
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
		return ret;
	}
	for (size_t i = 0; i < r->cfg.flow.inputs.count; i++) {
		const struct inlet_input_config *in =
		    &((const struct inlet_input_config *)r->cfg.flow.inputs.items)[i];

		log_info("inlet input ready", "type=%s listen=%s interface=%s",
			 in->type == INLET_INPUT_AFXDP ? "afxdp" : "udp",
			 in->listen ? in->listen : "", in->interface ? in->interface : "");
	}
	return 0;
}

/* The demo exporter sends to the first UDP input, on loopback. */
static int start_demo(struct roles *r)
{
	const struct inlet_input_config *inputs = r->cfg.flow.inputs.items;
	struct demo_exporter_config dc = {.flows_per_second = 200};
	char target[64] = "127.0.0.1:2055";
	struct error err = {""};
	int ret;

	for (size_t i = 0; i < r->cfg.flow.inputs.count; i++) {
		const char *colon;

		if (inputs[i].type != INLET_INPUT_UDP || !inputs[i].listen)
			continue;
		colon = strrchr(inputs[i].listen, ':');
		if (colon)
			snprintf(target, sizeof(target), "127.0.0.1%s", colon);
		break;
	}
	dc.target = target;
	dc.sflow_port = (uint16_t)atoi(strrchr(target, ':') + 1);
	ret = demo_exporter_new(&dc, &r->demo_exporter, &err);
	if (ret == 0)
		ret = demo_exporter_start(r->demo_exporter, &err);
	if (ret < 0)
		fprintf(stderr, "weir %s: demo exporter: %s\n", r->name, err.text);
	else
		log_info("demo exporter started",
			 "target=%s exporters=127.0.0.11-14 flows_per_second=%u", target,
			 dc.flows_per_second);
	return ret;
}

/* ---- the whole life of a role ---- */

static void stop_all(struct roles *r)
{
	struct outlet_totals t;

	demo_exporter_free(r->demo_exporter);
	r->demo_exporter = NULL;
	/* (its sessions closed before the store's, which may stop the engine) */
	console_query_endpoint_free(r->query_endpoint);
	r->query_endpoint = NULL;
	/* 1. No new datagrams. */
	if (r->inlet)
		inlet_stop(r->inlet);
	/* 2. Drain: the ring's workers read what is queued, then see the end;
	 *    Kafka's producer hands its queue to the brokers. */
	if (r->producer) {
		if (r->ring)
			bus_ring_shards_close(r->producer);
		else
			bus_producer_flush(r->producer, 10000);
	}
	/* 3. Final flush: the ring is drained into ClickHouse; Kafka workers
	 *    stop polling and store (and commit) what they polled. */
	if (r->outlet) {
		char why[512];

		if (r->store && !atomic_load(&r->fatal) &&
		    orch_service_health(r->store, why, sizeof(why)) < 0)
			log_warn("the last flush waits for ClickHouse (a second signal gives up)",
				 "reason=\"%s\"", why);
		outlet_stop(r->outlet, r->ring);
		outlet_totals(r->outlet, &t);
		log_info("outlet stopped", "datagrams=%llu flows_decoded=%llu flows_stored=%llu",
			 (unsigned long long)t.datagrams, (unsigned long long)t.flows_decoded,
			 (unsigned long long)t.flows_stored);
	}
	/* (the service ran until the last flush: it lets the outlet store) */
	orch_service_free(r->store);
	r->store = NULL;
	/* (nothing more is stored: what the ring held is counted as clean) */
	orch_crash_guard_free(r->crash);
	r->crash = NULL;
	/* 4. Close. */
	signals_set_context(r->sig, NULL);
	outlet_free(r->outlet);
	r->outlet = NULL;
	enrich_free(r->enrich); /* (after its workers, the outlet's) */
	r->enrich = NULL;
	bus_kafka_flow_producer_free(r->flows_out); /* (flushes what is queued) */
	r->flows_out = NULL;
	inlet_free(r->inlet);
	r->inlet = NULL;
	bus_producer_free(r->producer);
	r->producer = NULL;
	if (r->consumers) {
		for (size_t i = 0; i < r->cfg.outlet.workers; i++)
			bus_consumer_free(r->consumers[i]);
		free(r->consumers);
		r->consumers = NULL;
	}
	console_free(r->console); /* its pending replies go before the listener */
	r->console = NULL;
	http_listener_free(r->http);
	r->http = NULL;
}

static int role_main(enum role role, int argc, char **argv)
{
	struct roles r = {.role = role, .name = argv[0]};
	const char *config;
	int ret, code;

	code = parse_options(&r, argc, argv, &config);
	if (code >= 0)
		return code;
	if (load_config(&r, config) < 0) {
		weir_config_free(&r.cfg);
		return 1;
	}
	if (role != ROLE_RUN && r.cfg.bus.type != BUS_TYPE_KAFKA) {
		fprintf(stderr,
			"weir %s: needs bus.type: kafka (the in-process ring exists only inside "
			"`weir run`)\n",
			r.name);
		weir_config_free(&r.cfg);
		return 1;
	}
	ret = signals_new(give_up, NULL, &r.sig, NULL);
	if (ret < 0)
		goto out;
	ret = metrics_registry_new(&r.metrics, NULL);
	if (ret < 0)
		goto out;
	if (role != ROLE_INLET) {
		ret = new_store_service(&r);
		if (ret < 0)
			goto out;
	}
	ret = start_http(&r);
	if (ret < 0)
		goto out;
	/* The flow inputs open before ClickHouse is asked anything: exporters
	 * never meet a closed port (ICMP unreachable), and what they send waits
	 * in the bus while the service below brings ClickHouse in. */
	ret = start_bus(&r, role != ROLE_OUTLET, role != ROLE_INLET);
	if (ret < 0)
		goto out;
	if (role != ROLE_INLET) {
		ret = start_outlet(&r);
		if (ret < 0)
			goto out;
	}
	if (role != ROLE_OUTLET) {
		ret = start_inlet(&r);
		if (ret < 0)
			goto out;
	}
	if (r.crash) { /* (once the inlet and the outlet it reads are made) */
		struct error err = {""};

		ret = orch_crash_guard_start(r.crash, &err);
		if (ret < 0) {
			fprintf(stderr, "weir %s: %s\n", r.name, err.text);
			goto out;
		}
	}
	if (r.demo) {
		ret = start_demo(&r);
		if (ret < 0)
			goto out;
	}
	if (r.store) {
		struct error err = {""};

		log_info("inputs open, waiting for the ClickHouse schema", "role=%s url=%s", r.name,
			 r.cfg.clickhouse.url);
		ret = orch_service_start(r.store, &err);
		if (ret < 0) {
			fprintf(stderr, "weir %s: %s\n", r.name, err.text);
			goto out;
		}
	} else {
		log_info("ready", "role=%s", r.name);
	}
	signals_wait(r.sig, UINT64_MAX);
	ret = atomic_load(&r.fatal);
out:
	/* Whatever failed, threads already running must not outlive us. */
	if (r.sig)
		signals_request_stop(r.sig);
	stop_all(&r);
	if (ret == 0)
		ret = atomic_load(&r.fatal); /* (found while draining) */
	signals_free(r.sig);
	metrics_registry_free(r.metrics);
	weir_config_free(&r.cfg);
	log_info("stopped", "role=%s", r.name);
	return ret < 0 ? 1 : 0;
}

int cli_run_main(int argc, char **argv)
{
	return role_main(ROLE_RUN, argc, argv);
}

int cli_inlet_main(int argc, char **argv)
{
	return role_main(ROLE_INLET, argc, argv);
}

int cli_outlet_main(int argc, char **argv)
{
	return role_main(ROLE_OUTLET, argc, argv);
}
