// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench store`'s measurement: realistic flows through store writers
 * into a real ClickHouse, then bytes per flow on disk in `flows`. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/log.h"
#include "store.h"

#define POOL  65536  /* distinct flows per stream, rewritten as they are reused */
#define CHUNK 1024   /* flows per append, as an outlet appends a few datagrams' worth */
#define RATE  500000 /* flows per second of TimeReceived: the target rate */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* splitmix64: fast, good enough for test data */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

/* Skewed pick in [0, n): small values far more often (traffic is heavy-tailed). */
static unsigned skewed(struct rng *r, unsigned n)
{
	uint64_t a = rnd(r) % n, b = rnd(r) % n;
	return (unsigned)(a * b / n);
}

/* One flow as a border router would export it: 4 exporters with their own
 * sampling rates, 16 interfaces each, a pool of remote hosts (IPv4 and 20 %
 * IPv6) with their AS, local servers, service ports, ephemeral ports. */
static void gen_flow(struct flow *f, struct rng *r)
{
	static const uint16_t services[] = {443, 443, 443, 443, 80, 80, 53, 22, 25, 993, 123, 8080};
	static const uint8_t ttls[] = {64, 128, 255, 57, 119, 52};
	static const uint16_t flags[] = {0x18, 0x10, 0x1b, 0x02, 0x11, 0x1a};
	unsigned exporter = skewed(r, 4), remote = skewed(r, 50000), local = skewed(r, 2000);
	unsigned in_if = 1 + skewed(r, 16), out_if = 17 + skewed(r, 16), proto_pick = below(r, 100);
	int v6 = remote % 5 == 0;
	int inbound = below(r, 3) != 0;
	struct in6_addr remote_addr, local_addr;

	memset(f, 0, sizeof(*f));
	addr_from_ipv4(&f->exporter_address, 0xc0000201 + exporter);
	f->sampling_rate = exporter == 3 ? 1 : 1000u << (exporter & 1);
	if (v6) {
		memset(&remote_addr, 0, sizeof(remote_addr));
		remote_addr.s6_addr[0] = 0x2a;
		remote_addr.s6_addr[1] = (uint8_t)(remote >> 8);
		remote_addr.s6_addr[5] = (uint8_t)remote;
		remote_addr.s6_addr[15] = (uint8_t)(remote * 7);
		memset(&local_addr, 0, sizeof(local_addr));
		local_addr.s6_addr[0] = 0x20;
		local_addr.s6_addr[1] = 0x01;
		local_addr.s6_addr[2] = 0x0d;
		local_addr.s6_addr[3] = 0xb8;
		local_addr.s6_addr[14] = (uint8_t)(local >> 8);
		local_addr.s6_addr[15] = (uint8_t)local;
		f->etype = 0x86dd;
		f->ipv6_flow_label = (uint32_t)rnd(r) & 0xfffff;
	} else {
		addr_from_ipv4(&remote_addr, 0x01000000u + remote * 65537u);
		addr_from_ipv4(&local_addr, 0xcb007100u + local % 256 + (local / 256) * 65536u);
		f->etype = 0x0800;
		f->ip_fragment_id = (uint32_t)rnd(r) & 0xffff;
	}
	f->src_addr = inbound ? remote_addr : local_addr;
	f->dst_addr = inbound ? local_addr : remote_addr;
	f->src_as = inbound ? 64512 + remote % 300 : 65001;
	f->dst_as = inbound ? 65001 : 64512 + remote % 300;
	f->src_net_mask = v6 ? 48 : 24;
	f->dst_net_mask = v6 ? 64 : 24;
	f->in_if = inbound ? in_if : out_if;
	f->out_if = inbound ? out_if : in_if;
	f->flow_direction = FLOW_DIRECTION_INGRESS;
	f->forwarding_status = 64;
	f->src_mac = 0x020000000000ULL + exporter * 256 + f->in_if;
	f->dst_mac = 0x020000010000ULL + exporter * 256 + f->out_if;
	addr_from_ipv4(&f->next_hop, 0x0a000000u + exporter * 256 + f->out_if);
	if (proto_pick < 80) {
		f->proto = 6;
		f->tcp_flags = flags[below(r, 6)];
	} else if (proto_pick < 98) {
		f->proto = 17;
	} else {
		f->proto = v6 ? 58 : 1;
		if (v6)
			f->icmpv6_type = 128;
		else
			f->icmpv4_type = 8;
	}
	if (f->proto != 1 && f->proto != 58) {
		uint16_t service = services[below(r, 12)];
		uint16_t ephemeral = (uint16_t)(32768 + below(r, 28232));
		f->src_port = inbound ? ephemeral : service;
		f->dst_port = inbound ? service : ephemeral;
	}
	f->ip_ttl = ttls[remote % 6];
	f->ip_tos = below(r, 10) ? 0 : 0xb8;
	f->packets = 1 + skewed(r, 64);
	f->bytes = f->packets * (40 + skewed(r, 1461));
	if (inbound && remote % 3 == 0) {
		f->dst_as_path_count = (uint8_t)(1 + remote % 4);
		for (unsigned k = 0; k < f->dst_as_path_count; k++)
			f->dst_as_path[k] = 64512 + (remote + 37 * k) % 300;
	}
}

struct stream {
	const struct store_config *cfg;
	uint64_t first_row, rows;
	uint64_t base_time;
	int result;
	double encode_s, flush_s;
	char error[256];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run_stream(void *arg)
{
	struct stream *st = arg;
	struct store_writer *w = store_writer_new(st->cfg, NULL);
	struct flow *pool = malloc(POOL * sizeof(*pool));
	struct rng r = {.s = st->first_row * 2654435761u + 1};
	uint64_t done = 0;

	st->result = -ENOMEM;
	if (!w || !pool)
		goto out;
	for (size_t i = 0; i < POOL; i++)
		gen_flow(&pool[i], &r);
	while (done < st->rows) {
		size_t n = st->rows - done < CHUNK ? (size_t)(st->rows - done) : CHUNK;
		struct flow *chunk = &pool[(done / CHUNK * CHUNK) % POOL];
		double t0;
		int ret;

		/* Reused pool entries get a new time and ephemeral port. */
		for (size_t i = 0; i < n; i++) {
			uint64_t row = st->first_row + done + i;
			struct flow *f = &chunk[i];
			f->time_received = st->base_time + row / RATE;
			f->time_flow_end_ms = f->time_received * 1000 - below(&r, 2000);
			f->time_flow_start_ms = f->time_flow_end_ms - below(&r, 60000);
			if (f->src_port >= 32768)
				f->src_port = (uint16_t)(32768 + below(&r, 28232));
		}
		t0 = now_s();
		ret = store_writer_append(w, chunk, n, 0);
		st->encode_s += now_s() - t0;
		if (ret == -ENOBUFS || store_writer_rows(w) >= st->cfg->batch_rows) {
			t0 = now_s();
			st->result = store_writer_flush(w, NULL, NULL);
			st->flush_s += now_s() - t0;
			if (st->result < 0)
				goto out;
			if (ret == -ENOBUFS)
				continue; /* append the same chunk again */
		} else if (ret < 0) {
			st->result = ret;
			goto out;
		}
		done += n;
	}
	{
		double t0 = now_s();
		st->result = store_writer_flush(w, NULL, NULL);
		st->flush_s += now_s() - t0;
	}
out:
	if (st->result < 0 && w)
		snprintf(st->error, sizeof(st->error), "%s", store_writer_last_error(w));
	store_writer_free(w);
	free(pool);
	return NULL;
}

int store_bench(const struct store_config *cfg, uint64_t rows, unsigned streams, FILE *out,
		struct store_bench_result *result)
{
	struct stream st[16];
	pthread_t th[16];
	struct store_client *c = store_client_new(cfg);
	uint64_t before = 0, after = 0, disk = 0;
	double t0, wall, encode = 0;
	char *answer = NULL;
	int r = 0;

	memset(result, 0, sizeof(*result));
	if (!c)
		return -ENOMEM;
	if (streams < 1)
		streams = 1;
	if (streams > 16)
		streams = 16;
	r = store_client_query_u64(c, "SELECT count() FROM flows", &before);
	if (r < 0) {
		fprintf(out, "store bench: %s\n", store_client_error(c));
		goto out;
	}
	/* A day back, so that the rows land in one or two daily partitions. */
	uint64_t base = (uint64_t)time(NULL) - 86400;
	t0 = now_s();
	for (unsigned i = 0; i < streams; i++) {
		st[i] = (struct stream){.cfg = cfg,
					.first_row = rows * i / streams,
					.rows = rows * (i + 1) / streams - rows * i / streams,
					.base_time = base};
		if (pthread_create(&th[i], NULL, run_stream, &st[i]) != 0) {
			streams = i;
			r = -EAGAIN;
			break;
		}
	}
	for (unsigned i = 0; i < streams; i++) {
		pthread_join(th[i], NULL);
		encode += st[i].encode_s;
		if (st[i].result < 0 && r == 0) {
			r = st[i].result;
			fprintf(out, "store bench: stream %u failed: %s\n", i, st[i].error);
		}
	}
	wall = now_s() - t0;
	if (r < 0)
		goto out;
	result->encode_rows_per_s = (double)rows / encode;
	result->insert_rows_per_s = (double)rows / wall;
	if (store_client_query_u64(c, "SELECT count() FROM flows", &after) < 0)
		goto fail;
	fprintf(out, "store: %llu flows in %.2f s through %u stream(s), batches of %llu rows\n",
		(unsigned long long)rows, wall, streams, (unsigned long long)cfg->batch_rows);
	fprintf(out, "store: encode (Native columns)   %10.0f flows/s per core\n",
		result->encode_rows_per_s);
	fprintf(out, "store: insert end to end         %10.0f flows/s   (target 500000)\n",
		result->insert_rows_per_s);
	if (after - before != rows)
		fprintf(out, "store: WARNING flows grew by %llu rows, expected %llu\n",
			(unsigned long long)(after - before), (unsigned long long)rows);
	/* Bytes on disk once merged, as they will sit for the retention period. */
	if (store_client_query(c, "OPTIMIZE TABLE flows FINAL", NULL) < 0)
		goto fail;
	if (store_client_query_u64(c,
				   "SELECT sum(bytes_on_disk) FROM system.parts WHERE active "
				   "AND database = currentDatabase() AND table = 'flows'",
				   &disk) < 0)
		goto fail;
	result->rows_in_table = after;
	result->bytes_per_flow = after ? (double)disk / (double)after : 0;
	fprintf(out,
		"store: on disk in flows          %10.1f bytes/flow (target < 20), %llu rows\n",
		result->bytes_per_flow, (unsigned long long)after);
	if (store_client_query(c,
			       "SELECT name, round(data_compressed_bytes / greatest(1, "
			       "(SELECT count() FROM flows)), 2) AS b FROM system.columns WHERE "
			       "database = currentDatabase() AND table = 'flows' AND b > 0.2 "
			       "ORDER BY b DESC LIMIT 12",
			       &answer) == 0) {
		fprintf(out, "store: biggest columns, compressed bytes per flow:\n");
		for (char *line = strtok(answer, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(out, "store:   %s\n", line);
	}
	goto out;
fail:
	fprintf(out, "store bench: %s\n", store_client_error(c));
	r = -EIO;
out:
	free(answer);
	store_client_free(c);
	return r;
}
