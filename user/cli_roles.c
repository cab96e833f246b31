// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir run` (every role in one process, the in-process ring as the bus),
 * `weir inlet` (receive, hand to Kafka) and `weir outlet` (Kafka, decode,
 * store): option parsing, start-up in dependency order, and a shutdown that
 * loses nothing (inlet first, drain the bus, final flush, close). */
#include <errno.h>
#include <pthread.h>
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
	struct console *console; /* weir run only */
	struct bus_producer *producer;
	struct bus_consumer **consumers;
	int ring;
	struct inlet *inlet;
	struct outlet *outlet;
	struct enrich *enrich; /* core/metadata/geoip/networks: given to the outlet */
	struct bus_kafka_flow_producer *flows_out; /* bus.kafka.flows-topic */
	struct demo_exporter *demo_exporter;
	pthread_t retention;
	int retention_started;
	struct signals *sig;
};

static int stop_requested(void *ctx)
{
	struct roles *r = ctx;

	return signals_stop_requested(r->sig);
}

/* Sleeps up to ms; returns 1 when a stop was asked meanwhile. */
static int wait_stop(struct roles *r, uint64_t ms)
{
	return signals_wait(r->sig, ms);
}

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

static int start_http(struct roles *r)
{
	struct error err = {""};
	int ret;

	ret = http_listener_new(r->cfg.http.listen, r->metrics, &r->http, &err);
	if (ret == 0 && r->role == ROLE_RUN && r->cfg.console.enabled) {
		ret = console_new(&r->cfg.console, &r->cfg.clickhouse, r->http, r->metrics,
				  &r->console, &err);
		if (ret == 0)
			ret = console_start(r->console, &err);
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

/* Creates or upgrades the schema before anything is inserted. While
 * ClickHouse cannot be reached, retries with back-off (or, for the demo,
 * says how to start one and gives up). */
static int migrate(struct roles *r)
{
	struct store_client *c;
	struct error err;
	uint64_t backoff = 500;
	int ret, warned = 0;

	ret = store_client_new(&r->cfg.clickhouse, &c, &err);
	if (ret < 0) {
		fprintf(stderr, "weir %s: %s\n", r->name, err.text);
		return ret;
	}
	for (;;) {
		ret = orch_migrate(c, &r->cfg.clickhouse, 0);
		if (ret >= 0) {
			log_info("ClickHouse schema ready", "url=%s database=%s steps_applied=%d",
				 r->cfg.clickhouse.url, r->cfg.clickhouse.database, ret);
			ret = 0;
			break;
		}
		if (ret == -EPROTONOSUPPORT) {
			fprintf(stderr,
				"weir %s: database %s was migrated by a later weir (schema newer "
				"than version %u): upgrade this weir\n",
				r->name, r->cfg.clickhouse.database, ORCH_SCHEMA_VERSION);
			break;
		}
		if (ret != -ECONNREFUSED && ret != -ETIMEDOUT) {
			fprintf(stderr, "weir %s: ClickHouse schema migration failed: %s\n",
				r->name, store_client_error(c));
			break;
		}
		if (r->demo) {
			clickhouse_hint(r);
			break;
		}
		if (!warned++)
			log_warn("ClickHouse not reachable, retrying until it is",
				 "url=%s error=\"%s\"", r->cfg.clickhouse.url,
				 store_client_error(c));
		if (wait_stop(r, backoff)) {
			ret = -ECANCELED;
			break;
		}
		backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
	}
	store_client_free(c);
	return ret;
}

static void *retention_main(void *arg)
{
	struct roles *r = arg;
	int ret = orch_run(&r->cfg.clickhouse, 0, stop_requested, r);

	if (ret < 0 && !stop_requested(r))
		log_error("retention loop ended", "error=%d", ret);
	return NULL;
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
		outlet_stop(r->outlet, r->ring);
		outlet_totals(r->outlet, &t);
		log_info("outlet stopped", "datagrams=%llu flows_decoded=%llu flows_stored=%llu",
			 (unsigned long long)t.datagrams, (unsigned long long)t.flows_decoded,
			 (unsigned long long)t.flows_stored);
	}
	if (r->retention_started) {
		pthread_join(r->retention, NULL);
		r->retention_started = 0;
	}
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
	ret = start_http(&r);
	if (ret < 0)
		goto out;
	if (role != ROLE_INLET) {
		ret = migrate(&r);
		if (ret < 0)
			goto out;
	}
	if (role == ROLE_RUN) {
		ret = -pthread_create(&r.retention, NULL, retention_main, &r);
		if (ret < 0)
			goto out;
		r.retention_started = 1;
	}
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
	if (r.demo) {
		ret = start_demo(&r);
		if (ret < 0)
			goto out;
	}
	log_info("ready", "role=%s", r.name);
	signals_wait(r.sig, UINT64_MAX);
out:
	/* Whatever failed, threads already running must not outlive us. */
	if (r.sig)
		signals_request_stop(r.sig);
	stop_all(&r);
	signals_free(r.sig);
	metrics_registry_free(r.metrics);
	weir_config_free(&r.cfg);
	if (ret == -ECANCELED)
		ret = 0; /* stopped while waiting for ClickHouse */
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
