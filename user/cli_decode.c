// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir decode`: decodes the flow datagrams of pcap/pcapng captures with one
 * decoder state and prints the flows (JSON lines or a table), with counters
 * per exporter and reason on stderr. What an operator runs on a capture
 * taken next to a misbehaving router. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "common/addr.h"
#include "common/cli_opts.h"
#include "common/exporter_table.h"
#include "common/flow_schema.h"
#include "common/pcap_udp.h"
#include "decode/decode.h"

/* One datagram never gives more: 65507 bytes of the smallest NetFlow v9
 * records (1 byte each) would, but real exporters send a few dozen. More
 * are counted as flow_limit. */
#define DECODE_CLI_MAX_FLOWS 16384
/* Table rows formatted before widths are chosen and printed. */
#define TABLE_BATCH 512
/* Datagrams with problems described one by one before only counting. */
#define PROBLEM_LINES 20
/* Exporters listed in the closing counters before only counting them. */
#define SUMMARY_EXPORTERS 50

enum table_col {
	COL_TIME,
	COL_EXPORTER,
	COL_PROTO,
	COL_SRC,
	COL_ARROW,
	COL_DST,
	COL_IN,
	COL_OUT,
	COL_BYTES,
	COL_PACKETS,
	COL_RATE,
	COL_COUNT
};

static const char *const table_headers[COL_COUNT] = {
    "TIME (UTC)", "EXPORTER", "PROTO", "SRC", "", "DST", "IN", "OUT", "BYTES", "PACKETS", "RATE",
};
/* Numbers are right-aligned. */
static const unsigned char table_right[COL_COUNT] = {
    [COL_IN] = 1, [COL_OUT] = 1, [COL_BYTES] = 1, [COL_PACKETS] = 1, [COL_RATE] = 1,
};
/* Longest cell text kept; an IPv6 address with a port fits. */
#define CELL_MAX 56

struct table_row {
	char cell[COL_COUNT][CELL_MAX];
};

struct table {
	struct table_row *rows;
	unsigned n;
	int width[COL_COUNT];
	int header_done;
};

/* Exporters counted one by one; a capture with more (spoofed sources) only
 * adds to the totals past that. */
#define DECODE_CLI_MAX_EXPORTERS (1u << 24)

/* The value of an exporter's entry in decode_cli.exporters. */
struct exporter_stats {
	unsigned protocols; /* bit per enum decode_protocol seen */
	unsigned long datagrams, flows, templates, withdrawals, options_records, counter_samples;
	unsigned long skipped_records;
	unsigned long events[DECODE_REASON_COUNT];
	/* Sequence numbers (all of the exporter's domains): lost by unit
	 * (enum decode_seq_unit), out of order, restarts. */
	unsigned long seq_lost[4], seq_out_of_order, seq_resets;
};

struct decode_cli {
	/* options */
	int json;
	int verbose;
	int have_exporter;
	struct in6_addr exporter;
	const char *payloads_dir;

	struct decode_state *st;
	struct flow *flows;
	struct table table;
	FILE *out;

	/* the file being walked */
	const char *path;
	unsigned long file_datagrams;
	unsigned long file_skipped_base; /* c->skipped when the file started */

	/* totals */
	unsigned long datagrams, flows_total, templates, skipped, problems;
	unsigned long payloads_written;
	int write_failed;
	struct exporter_table exporters; /* of struct exporter_stats, in order of appearance */
};

static void usage(FILE *out, const void *ctx)
{
	fprintf(
	    out,
	    "usage: weir decode [OPTIONS] FILE.pcap...\n"
	    "\n"
	    "Decodes the NetFlow v5/v9, IPFIX and sFlow v5 datagrams of pcap or pcapng\n"
	    "captures, in order, with one decoder state (so templates seen in an earlier\n"
	    "datagram or file serve later ones), and prints one flow per line. Every UDP\n"
	    "payload is tried, whatever its port. Problems and counters per exporter and\n"
	    "reason go to stderr.\n"
	    "\n"
	    "options:\n"
	    "  --json               one JSON object per flow per line (ClickHouse column\n"
	    "                       names, zero fields left out) instead of a table\n"
	    "  --exporter ADDR      use ADDR as the source address of every datagram (the\n"
	    "                       NetFlow/IPFIX exporter; sFlow flows keep their agent address)\n"
	    "  --time header|capture\n"
	    "                       TimeReceived from the export header when the protocol\n"
	    "                       has one, else the capture time (header, the default), or\n"
	    "                       always the capture time (capture)\n"
	    "  --decap none|gre|ipip|vxlan|srv6\n"
	    "                       report the inner packet of this encapsulation in sampled\n"
	    "                       headers (sFlow, IPFIX element 315)\n"
	    "  --payloads DIR       do not decode: write each UDP payload to DIR/FILE-N.bin\n"
	    "                       (FILE = capture name without extension, N from 1)\n"
	    "  -v, --verbose        describe every datagram with a problem (default: the first "
	    "%d)\n"
	    "  -h, --help           this text\n"
	    "\n"
	    "Exit status: 0 when every file was read (even with undecodable datagrams),\n"
	    "1 when a file could not be read, 2 on a usage error.\n",
	    PROBLEM_LINES);
}

/* ---- per-exporter counters ---- */

static void exporter_account(struct decode_cli *c, const struct decode_result *r)
{
	struct exporter_entry *entry = exporter_table_get(&c->exporters, &r->exporter, 0, NULL);
	struct exporter_stats *e;

	if (!entry)
		return;
	e = (struct exporter_stats *)entry->value;
	e->protocols |= 1u << r->protocol;
	e->datagrams++;
	e->flows += r->flows;
	e->templates += r->templates;
	e->withdrawals += r->template_withdrawals;
	e->options_records += r->options_records;
	e->counter_samples += r->counter_samples;
	e->skipped_records += r->skipped_records;
	for (int i = 1; i < DECODE_REASON_COUNT; i++)
		e->events[i] += r->events[i];
	if ((unsigned)r->seq.unit < sizeof(e->seq_lost) / sizeof(e->seq_lost[0]))
		e->seq_lost[r->seq.unit] += r->seq.lost;
	e->seq_out_of_order += r->seq.out_of_order;
	e->seq_resets += r->seq.reset;
}

/* ---- table output ---- */

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 2:
		return "igmp";
	case 4:
		return "ipip";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 41:
		return "ipv6";
	case 47:
		return "gre";
	case 50:
		return "esp";
	case 58:
		return "icmpv6";
	case 89:
		return "ospf";
	case 132:
		return "sctp";
	default:
		return NULL;
	}
}

static void format_endpoint(char *buf, size_t size, const struct in6_addr *a, uint16_t port,
			    int with_port)
{
	char text[ADDR_TEXT_MAX];

	if (addr_is_zero(a))
		snprintf(text, sizeof(text), "-");
	else
		addr_to_text(a, text, sizeof(text));
	if (!with_port)
		snprintf(buf, size, "%s", text);
	else if (addr_is_ipv4(a) || addr_is_zero(a))
		snprintf(buf, size, "%s:%u", text, port);
	else
		snprintf(buf, size, "[%s]:%u", text, port);
}

static void format_row(struct table_row *row, const struct flow *f)
{
	time_t t = (time_t)f->time_received;
	struct tm tm;
	const char *pn = proto_name(f->proto);
	int ports = f->proto == 6 || f->proto == 17 || f->proto == 132 ||
		    ((f->src_port || f->dst_port) && f->proto != 1 && f->proto != 58);

	if (gmtime_r(&t, &tm))
		strftime(row->cell[COL_TIME], CELL_MAX, "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(row->cell[COL_TIME], CELL_MAX, "%llu", (unsigned long long)t);
	format_endpoint(row->cell[COL_EXPORTER], CELL_MAX, &f->exporter_address, 0, 0);
	if (f->proto == 1)
		snprintf(row->cell[COL_PROTO], CELL_MAX, "icmp %u/%u", f->icmpv4_type,
			 f->icmpv4_code);
	else if (f->proto == 58)
		snprintf(row->cell[COL_PROTO], CELL_MAX, "icmpv6 %u/%u", f->icmpv6_type,
			 f->icmpv6_code);
	else if (pn)
		snprintf(row->cell[COL_PROTO], CELL_MAX, "%s", pn);
	else
		snprintf(row->cell[COL_PROTO], CELL_MAX, "%u", f->proto);
	format_endpoint(row->cell[COL_SRC], CELL_MAX, &f->src_addr, f->src_port, ports);
	snprintf(row->cell[COL_ARROW], CELL_MAX, "->");
	format_endpoint(row->cell[COL_DST], CELL_MAX, &f->dst_addr, f->dst_port, ports);
	snprintf(row->cell[COL_IN], CELL_MAX, "%u", f->in_if);
	snprintf(row->cell[COL_OUT], CELL_MAX, "%u", f->out_if);
	snprintf(row->cell[COL_BYTES], CELL_MAX, "%llu", (unsigned long long)f->bytes);
	snprintf(row->cell[COL_PACKETS], CELL_MAX, "%llu", (unsigned long long)f->packets);
	snprintf(row->cell[COL_RATE], CELL_MAX, "%llu", (unsigned long long)f->sampling_rate);
}

static void table_print_row(FILE *out, const struct table *t, const char *const *cells)
{
	for (int i = 0; i < COL_COUNT; i++) {
		int last = i == COL_COUNT - 1;

		if (table_right[i])
			fprintf(out, "%*s", t->width[i], cells[i]);
		else if (last)
			fputs(cells[i], out);
		else
			fprintf(out, "%-*s", t->width[i], cells[i]);
		fputs(last ? "\n" : "  ", out);
	}
}

/* Widths only grow, so a capture whose later flows are wider (an IPv6
 * exporter after IPv4 ones) stays readable; most captures print one block. */
static void table_flush(struct table *t, FILE *out)
{
	const char *cells[COL_COUNT];

	if (!t->header_done)
		for (int i = 0; i < COL_COUNT; i++)
			t->width[i] = (int)strlen(table_headers[i]);
	for (unsigned r = 0; r < t->n; r++)
		for (int i = 0; i < COL_COUNT; i++) {
			int w = (int)strlen(t->rows[r].cell[i]);

			if (w > t->width[i])
				t->width[i] = w;
		}
	if (!t->header_done && t->n) {
		table_print_row(out, t, table_headers);
		t->header_done = 1;
	}
	for (unsigned r = 0; r < t->n; r++) {
		for (int i = 0; i < COL_COUNT; i++)
			cells[i] = t->rows[r].cell[i];
		table_print_row(out, t, cells);
	}
	t->n = 0;
}

static void output_flow(struct decode_cli *c, const struct flow *f)
{
	if (c->json) {
		if (flow_write_json(c->out, f) < 0 || fputc('\n', c->out) == EOF)
			c->write_failed = 1;
		return;
	}
	format_row(&c->table.rows[c->table.n++], f);
	if (c->table.n == TABLE_BATCH)
		table_flush(&c->table, c->out);
}

/* ---- one datagram ---- */

static void report_problem(struct decode_cli *c, const struct pcap_udp_datagram *d,
			   const struct decode_result *r)
{
	char src[ADDR_TEXT_MAX], exp[ADDR_TEXT_MAX];

	c->problems++;
	if (!c->verbose && c->problems > PROBLEM_LINES) {
		if (c->problems == PROBLEM_LINES + 1)
			fprintf(stderr, "weir decode: more datagrams with problems: only counted "
					"below (--verbose shows each)\n");
		return;
	}
	addr_to_text(&d->src, src, sizeof(src));
	addr_to_text(&r->exporter, exp, sizeof(exp));
	/* The frame number is what Wireshark shows: non-UDP frames count too. */
	fprintf(stderr, "weir decode: %s: datagram %lu (frame %lu) from %s:%u (%zu bytes, %s",
		c->path, c->file_datagrams, c->file_datagrams + c->skipped - c->file_skipped_base,
		src, d->src_port, d->len, decode_protocol_name(r->protocol));
	if (memcmp(&r->exporter, c->have_exporter ? &c->exporter : &d->src, sizeof(d->src)))
		fprintf(stderr, ", exporter %s", exp);
	fprintf(stderr, "): %u flows;", r->flows);
	for (int i = 1; i < DECODE_REASON_COUNT; i++)
		if (r->events[i])
			fprintf(stderr, " %s=%u", decode_reason_name(i), r->events[i]);
	fputc('\n', stderr);
}

static int on_datagram_decode(void *ctx, const struct pcap_udp_datagram *d)
{
	struct decode_cli *c = ctx;
	struct decode_input in = {
	    .data = d->payload,
	    .len = d->len,
	    .exporter = c->have_exporter ? c->exporter : d->src,
	    .time_received = d->time_ns / 1000000000ull,
	};
	struct decode_output out = {.flows = c->flows, .cap = DECODE_CLI_MAX_FLOWS};
	struct decode_result r;

	c->file_datagrams++;
	c->datagrams++;
	decode_datagram(c->st, &in, &out, &r);
	decode_sequence_track(c->st, &r);
	exporter_account(c, &r);
	c->flows_total += out.count;
	c->templates += r.templates;
	if (r.status != DECODE_OK)
		report_problem(c, d, &r);
	for (uint32_t i = 0; i < out.count && !c->write_failed; i++)
		output_flow(c, &c->flows[i]);
	return c->write_failed;
}

/* ---- --payloads ---- */

/* "dir/x/netflow-v9-basic-1.pcap" -> "netflow-v9-basic-1" */
static void capture_stem(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	char *dot;

	snprintf(buf, size, "%s", base ? base + 1 : path);
	dot = strrchr(buf, '.');
	if (dot && dot != buf)
		*dot = '\0';
}

static int on_datagram_payload(void *ctx, const struct pcap_udp_datagram *d)
{
	struct decode_cli *c = ctx;
	char stem[256], name[4096];
	FILE *f;

	c->file_datagrams++;
	c->datagrams++;
	capture_stem(c->path, stem, sizeof(stem));
	snprintf(name, sizeof(name), "%s/%s-%lu.bin", c->payloads_dir, stem, c->file_datagrams);
	f = fopen(name, "wb");
	if (!f || fwrite(d->payload, 1, d->len, f) != d->len) {
		fprintf(stderr, "weir decode: %s: %s\n", name, strerror(errno ? errno : EIO));
		if (f)
			fclose(f);
		c->write_failed = 1;
		return 1;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "weir decode: %s: %s\n", name, strerror(errno));
		c->write_failed = 1;
		return 1;
	}
	c->payloads_written++;
	return 0;
}

/* ---- summary ---- */

#define PLURAL(n) ((n) == 1 ? "" : "s")

static int exporter_has_events(const struct exporter_stats *e)
{
	for (int r = 1; r < DECODE_REASON_COUNT; r++)
		if (e->events[r])
			return 1;
	return 0;
}

static void print_exporter(const struct exporter_entry *entry)
{
	const struct exporter_stats *e = (const struct exporter_stats *)entry->value;
	char addr[ADDR_TEXT_MAX];
	int first = 1;

	addr_to_text(&entry->addr, addr, sizeof(addr));
	fprintf(stderr, "  exporter %s (", addr);
	for (int p = 0; p <= DECODE_PROTO_SFLOW_V5; p++)
		if (e->protocols & (1u << p)) {
			fprintf(stderr, "%s%s", first ? "" : ", ", decode_protocol_name(p));
			first = 0;
		}
	fprintf(stderr, "): datagrams=%lu flows=%lu", e->datagrams, e->flows);
	if (e->templates)
		fprintf(stderr, " templates=%lu", e->templates);
	if (e->withdrawals)
		fprintf(stderr, " template_withdrawals=%lu", e->withdrawals);
	if (e->options_records)
		fprintf(stderr, " options_records=%lu", e->options_records);
	if (e->counter_samples)
		fprintf(stderr, " counter_samples=%lu", e->counter_samples);
	if (e->skipped_records)
		fprintf(stderr, " skipped_records=%lu", e->skipped_records);
	for (int r = 1; r < DECODE_REASON_COUNT; r++)
		if (e->events[r])
			fprintf(stderr, " %s=%lu", decode_reason_name(r), e->events[r]);
	/* Loss before the capture point, from the sequence numbers. */
	for (int u = DECODE_SEQ_FLOWS; u <= DECODE_SEQ_RECORDS; u++)
		if (e->seq_lost[u])
			fprintf(stderr, " sequence_lost_%s=%lu", decode_seq_unit_name(u),
				e->seq_lost[u]);
	if (e->seq_out_of_order)
		fprintf(stderr, " sequence_out_of_order=%lu", e->seq_out_of_order);
	if (e->seq_resets)
		fprintf(stderr, " sequence_resets=%lu", e->seq_resets);
	fputc('\n', stderr);
}

static void print_summary(struct decode_cli *c, int nfiles, int failed_files)
{
	fprintf(stderr, "weir decode: %d file%s", nfiles, nfiles == 1 ? "" : "s");
	if (failed_files)
		fprintf(stderr, " (%d unreadable)", failed_files);
	fprintf(stderr,
		", %lu datagram%s, %lu flow%s, %lu template%s learnt, %lu packet%s skipped (not "
		"whole UDP datagrams)\n",
		c->datagrams, PLURAL(c->datagrams), c->flows_total, PLURAL(c->flows_total),
		c->templates, PLURAL(c->templates), c->skipped, PLURAL(c->skipped));
	/* Many exporters: those with problems first, then the others, up to
	 * SUMMARY_EXPORTERS lines unless --verbose. */
	size_t shown = 0, n = exporter_table_count(&c->exporters);
	int all = c->verbose || n <= SUMMARY_EXPORTERS;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const struct exporter_entry *e = exporter_table_at(&c->exporters, i);
			int bad = exporter_has_events((const struct exporter_stats *)e->value);

			if (!all && (pass == 0) != bad)
				continue;
			if (all && pass == 1)
				break;
			if (!all && shown == SUMMARY_EXPORTERS)
				break;
			print_exporter(e);
			shown++;
		}
	if (shown < n)
		fprintf(stderr, "  ... and %zu more exporters (--verbose lists each)\n", n - shown);
}

/* libpcap's open errors name the file already: "p: p: No such file". */
static const char *dedup_path(const char *err, const char *path)
{
	size_t n = strlen(path);

	if (!strncmp(err, path, n) && !strncmp(err + n, ": ", 2) && !strncmp(err + n + 2, path, n))
		return err + n + 2;
	return err;
}

/* ---- options ---- */

static int parse_decap(const char *text, enum decode_decap *decap)
{
	static const struct {
		const char *name;
		enum decode_decap value;
	} names[] = {
	    {"none", DECODE_DECAP_NONE},   {"gre", DECODE_DECAP_GRE},	{"ipip", DECODE_DECAP_IPIP},
	    {"vxlan", DECODE_DECAP_VXLAN}, {"srv6", DECODE_DECAP_SRV6},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(text, names[i].name)) {
			*decap = names[i].value;
			return 0;
		}
	return -EINVAL;
}

int cli_decode_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},		{"exporter", required_argument, NULL, 'e'},
	    {"time", required_argument, NULL, 't'},	{"decap", required_argument, NULL, 'd'},
	    {"payloads", required_argument, NULL, 'p'}, {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},		{0},
	};
	static const struct exporter_table_config exporters_cfg = {
	    .value_size = sizeof(struct exporter_stats), .max_entries = DECODE_CLI_MAX_EXPORTERS};
	struct decode_cli c = {.out = stdout};
	struct decode_config cfg;
	struct cli_opts o;
	int opt, ret = 0, failed_files = 0, nfiles;

	decode_config_init(&cfg);
	cfg.use_export_time = 1;
	cli_opts_init(&o, argc, argv, "vh", opts, usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		switch (opt) {
		case 'j':
			c.json = 1;
			break;
		case 'e':
			if (addr_from_text(&c.exporter, optarg) < 0) {
				fprintf(stderr,
					"weir decode: --exporter: '%s' is not an IPv4 or "
					"IPv6 address\n",
					optarg);
				return 2;
			}
			c.have_exporter = 1;
			break;
		case 't':
			if (!strcmp(optarg, "header")) {
				cfg.use_export_time = 1;
			} else if (!strcmp(optarg, "capture")) {
				cfg.use_export_time = 0;
			} else {
				fprintf(stderr,
					"weir decode: --time: '%s' is neither 'header' nor "
					"'capture'\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_decap(optarg, &cfg.decap) < 0) {
				fprintf(stderr,
					"weir decode: --decap: '%s' is not one of none, gre, "
					"ipip, vxlan, srv6\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			c.payloads_dir = optarg;
			break;
		case 'v':
			c.verbose = 1;
			break;
		}
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	nfiles = argc - optind;
	if (nfiles <= 0) {
		fprintf(stderr, "weir decode: no capture file given\n\n");
		return cli_opts_usage_error(&o);
	}
	if (c.payloads_dir && mkdir(c.payloads_dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "weir decode: %s: %s\n", c.payloads_dir, strerror(errno));
		return 1;
	}
	if (!c.payloads_dir) {
		int st_ret = decode_state_new(&cfg, &c.st, NULL);

		c.flows = malloc(DECODE_CLI_MAX_FLOWS * sizeof(*c.flows));
		if (!c.json)
			c.table.rows = malloc(TABLE_BATCH * sizeof(*c.table.rows));
		if (st_ret < 0 || !c.flows || (!c.json && !c.table.rows) ||
		    exporter_table_init(&c.exporters, &exporters_cfg, NULL) < 0) {
			fprintf(stderr, "weir decode: out of memory\n");
			ret = 1;
			goto out;
		}
	}

	for (int i = optind; i < argc && !c.write_failed; i++) {
		struct error err;
		long n;

		c.path = argv[i];
		c.file_datagrams = 0;
		c.file_skipped_base = c.skipped;
		n = pcap_udp_walk(c.path, c.payloads_dir ? on_datagram_payload : on_datagram_decode,
				  &c, &c.skipped, &err);
		if (n < 0) {
			fprintf(stderr, "weir decode: %s%s\n", dedup_path(err.text, c.path),
				strstr(err.text, "unknown file format")
				    ? " (not a pcap or pcapng capture)"
				    : "");
			failed_files++;
			ret = 1;
		}
	}
	if (c.payloads_dir) {
		fprintf(stderr, "weir decode: %lu payloads written to %s (%lu packets skipped)\n",
			c.payloads_written, c.payloads_dir, c.skipped);
	} else {
		if (!c.json)
			table_flush(&c.table, c.out);
		if (fflush(c.out) != 0)
			c.write_failed = 1;
		print_summary(&c, nfiles, failed_files);
	}
	if (c.write_failed) {
		if (!c.payloads_dir)
			fprintf(stderr, "weir decode: writing the output failed: %s\n",
				strerror(errno));
		ret = 1;
	}
out:
	decode_state_free(c.st);
	free(c.flows);
	free(c.table.rows);
	exporter_table_fini(&c.exporters);
	return ret;
}
