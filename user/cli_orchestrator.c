// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir orchestrator`: creates or upgrades the ClickHouse schema, then
 * applies retention on a schedule until SIGINT/SIGTERM. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/cli_opts.h"
#include "common/log.h"
#include "common/signals.h"
#include "orchestrator/orchestrator.h"
#include "weir_config.h"

static void usage(FILE *out, const void *ctx)
{
	fprintf(out,
		"usage: weir orchestrator [-c FILE] [--once] [--target-version N]\n"
		"                         [--rekey-flows]\n\n"
		"Creates the ClickHouse database and schema, or upgrades it, in numbered\n"
		"steps recorded in the schema_migrations table (running it again changes\n"
		"nothing). Then drops the partitions of flows, flows_1m, flows_5m and\n"
		"flows_1h older than their retention, now and every retention-interval,\n"
		"until SIGINT or SIGTERM. Settings come from the clickhouse: section.\n\n"
		"  -c, --config FILE      weir.yaml (default: built-in defaults)\n"
		"      --once             migrations and one retention pass, then exit\n"
		"      --target-version N migrate up to schema version N only (tests;\n"
		"                         implies --once, no retention); latest is %d\n"
		"      --rekey-flows      copy a flows table of a release before session\n"
		"                         11 into today's key and partitions (its merges\n"
		"                         cost less), keep the old one as flows_by_minute;\n"
		"                         stop every writer of the database first; implies\n"
		"                         --once\n"
		"  -h, --help             this text\n",
		ORCH_SCHEMA_VERSION);
}

int cli_orchestrator_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"once", no_argument, NULL, 'o'},
	    {"target-version", required_argument, NULL, 't'},
	    {"rekey-flows", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *path = NULL;
	struct weir_config cfg;
	struct config_error err;
	struct signals *sig = NULL;
	unsigned target = 0;
	struct cli_opts o;
	int once = 0, rekey = 0, opt, r;

	cli_opts_init(&o, argc, argv, "c:h", opts, usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'k':
			rekey = once = 1;
			break;
		case 't':
			if (sscanf(optarg, "%u", &target) != 1 || target == 0 ||
			    target > ORCH_SCHEMA_VERSION) {
				fprintf(stderr, "weir orchestrator: bad --target-version %s\n",
					optarg);
				return 2;
			}
			break;
		}
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	if (optind != argc)
		return cli_opts_usage_error(&o);
	r = path ? weir_config_load(&cfg, path, &err) : weir_config_defaults(&cfg);
	if (r < 0) {
		fprintf(stderr, "weir: %s\n", path ? err.text : "out of memory");
		weir_config_free(&cfg);
		return 1;
	}
	log_set_level(cfg.log.level);

	if (signals_new(NULL, NULL, &sig, NULL) < 0) {
		weir_config_free(&cfg);
		return 1;
	}

	if (target) {
		struct store_client *c = NULL;
		store_client_new(&cfg.clickhouse, &c, NULL);
		r = c ? orch_migrate(c, &cfg.clickhouse, target) : -1;
		store_client_free(c);
	} else {
		r = 0;
		if (rekey) { /* then the retention pass sets the new table's TTL */
			struct store_client *c = NULL;
			store_client_new(&cfg.clickhouse, &c, NULL);
			r = c ? orch_flows_rekey(c, &cfg.clickhouse) : -1;
			store_client_free(c);
		}
		if (r >= 0)
			r = orch_run(&cfg.clickhouse, once, signals_stop_requested, sig);
	}
	signals_free(sig);
	weir_config_free(&cfg);
	return r < 0 ? 1 : 0;
}
