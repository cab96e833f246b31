// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo exporter: the world's traffic (world.c), encoded with the demo
 * encoder and sent over UDP from one loopback address per router, with
 * the routers' interface names as options data. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "demo_exporter.h"

#define DEMO_MAX_ROUTERS  8
#define DEMO_BATCH	  64 /* flows made per router per round at the daily peak */
#define DEMO_ATTACK_BATCH 24 /* and attack flows during a burst */

struct demo_source {
	const struct demo_router *router;
	enum demo_format format;
	struct demo_encoder *enc;
	int fd;
	struct sockaddr_in dst;
	uint64_t ifaces_sent; /* unix time of the last interface options */
};

struct demo_exporter {
	struct demo_exporter_config cfg;
	struct demo_world *world;
	struct demo_source src[DEMO_MAX_ROUTERS];
	size_t nsrc;
	pthread_t thread;
	int started;
	_Atomic int stop;
	_Atomic uint64_t sent;
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Services on the "inside" and clients on the "outside", skewed so that a
 * few of each carry most of the traffic, as on a real edge router. */
void demo_flow_make(struct flow *f, uint64_t seq, uint32_t seed, uint64_t now)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
		uint16_t size; /* typical packet size */
	} services[] = {
	    {6, 443, 1200}, {6, 443, 1200}, {6, 443, 1200}, {6, 80, 900},  {17, 443, 1100},
	    {17, 53, 120},  {6, 22, 200},   {6, 25, 600},   {17, 123, 90}, {6, 993, 400},
	};
	uint64_t r = mix64(seq ^ ((uint64_t)seed << 32)), r2 = mix64(r);
	unsigned svc = (unsigned)(r % (sizeof(services) / sizeof(services[0])));
	uint32_t server = 0xc6336400u + (uint32_t)((r >> 8) % 16); /* 198.51.100.0/28 */
	/* Clients: 203.0.113.0/24 mostly, 192.0.2.0/24 for the long tail. */
	uint32_t client = ((r >> 16) & 3) ? 0xcb007100u + (uint32_t)((r2 >> 8) % 64)
					  : 0xc0000200u + (uint32_t)((r2 >> 8) % 256);
	int inbound = (r >> 24) & 1;
	uint64_t packets = 1 + (r2 >> 20) % ((r >> 28) % 8 ? 20 : 2000);

	flow_reset(f);
	f->time_received = now;
	f->time_flow_end_ms = now * 1000;
	f->time_flow_start_ms = now * 1000 - (r2 % 60000);
	f->sampling_rate = 1000;
	f->etype = 0x0800;
	f->proto = services[svc].proto;
	f->packets = packets;
	f->bytes = packets * (services[svc].size - (uint16_t)((r2 >> 40) % 64));
	f->ip_tos = (r2 >> 50) % 4 ? 0 : 0x28;
	f->ip_ttl = 64;
	if (inbound) {
		addr_from_ipv4(&f->src_addr, client);
		addr_from_ipv4(&f->dst_addr, server);
		f->src_port = (uint16_t)(32768 + (r2 >> 4) % 28000);
		f->dst_port = services[svc].port;
		f->src_as = 64496 + (uint32_t)((r >> 32) % 8);
		f->dst_as = 64511;
		f->in_if = 1 + (uint32_t)((r >> 40) % 2);   /* transit links */
		f->out_if = 10 + (uint32_t)((r >> 44) % 4); /* servers */
		f->src_net_mask = 24;
		f->dst_net_mask = 28;
	} else {
		addr_from_ipv4(&f->src_addr, server);
		addr_from_ipv4(&f->dst_addr, client);
		f->src_port = services[svc].port;
		f->dst_port = (uint16_t)(32768 + (r2 >> 4) % 28000);
		f->src_as = 64511;
		f->dst_as = 64496 + (uint32_t)((r >> 32) % 8);
		f->in_if = 10 + (uint32_t)((r >> 44) % 4);
		f->out_if = 1 + (uint32_t)((r >> 40) % 2);
		f->src_net_mask = 28;
		f->dst_net_mask = 24;
	}
	addr_from_ipv4(&f->next_hop, 0xc0000201u);
	if (f->proto == 6)
		f->tcp_flags = 0x18;
	f->flow_direction = FLOW_DIRECTION_INGRESS;
}

static int parse_target(const char *target, struct sockaddr_in *sin)
{
	const char *colon = strrchr(target, ':');
	char host[INET_ADDRSTRLEN];
	long port;
	char *end;

	if (!colon || (size_t)(colon - target) >= sizeof(host))
		return -EINVAL;
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (!host[0])
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static void sleep_until(const struct timespec *t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

/* Interface names again every so often, as routers resend options data. */
#define DEMO_IFACES_EVERY_S 30
#define DEMO_NAMES_FIRST_MS 2000 /* between the first names and the first flows */

static void send_datagram(struct demo_source *src, const uint8_t *buf, size_t len,
			  struct log_ratelimit *rl)
{
	if (len && sendto(src->fd, buf, len, 0, (struct sockaddr *)&src->dst, sizeof(src->dst)) < 0)
		log_write_limited(rl, LOG_LEVEL_WARN, "demo exporter could not send",
				  "exporter=%s errno=%d", src->router->address, errno);
}

static void send_interfaces(struct demo_source *src, uint64_t now, struct log_ratelimit *rl)
{
	struct demo_interface ifs[16];
	const struct demo_router *r = src->router;
	size_t n = 0, done = 0;
	uint8_t buf[1500];

	for (size_t i = 0; i < r->nports && n < 16; i++)
		ifs[n++] = r->ports[i].ifc;
	while (done < n) {
		size_t len = 0;
		int k = demo_encoder_encode_interfaces(src->enc, ifs + done, n - done, now, buf,
						       sizeof(buf), &len);

		if (k <= 0)
			break;
		send_datagram(src, buf, len, rl);
		done += (size_t)k;
	}
	src->ifaces_sent = now;
}

/* Local seconds since midnight: the rhythm follows the operator's day. */
static uint32_t local_seconds_of_day(time_t now)
{
	struct tm tm;

	if (!localtime_r(&now, &tm))
		return (uint32_t)(now % 86400);
	return (uint32_t)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
}

static void *demo_main(void *arg)
{
	struct demo_exporter *e = arg;
	struct flow flows[DEMO_BATCH + DEMO_ATTACK_BATCH];
	uint8_t buf[1500];
	uint64_t rng = 0x5eed;
	uint32_t rate = e->cfg.flows_per_second ? e->cfg.flows_per_second : 200;
	/* One round sends up to DEMO_BATCH flows from each router. */
	uint64_t round_ns = 1000000000ull * DEMO_BATCH * e->nsrc / rate;
	struct timespec next;
	LOG_RATELIMIT(send_rl, 1);

	/* Names first: weir resolves the routers and their interfaces from
	 * the options data (and the static metadata) before the first flows,
	 * which are then stored with their names. */
	for (size_t s = 0; s < e->nsrc; s++)
		if (e->src[s].format != DEMO_SFLOW_V5)
			send_interfaces(&e->src[s], (uint64_t)time(NULL), &send_rl);
	for (int i = 0; i < DEMO_NAMES_FIRST_MS / 50 && !atomic_load(&e->stop); i++)
		usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&e->stop)) {
		uint64_t now = (uint64_t)time(NULL);
		double share = demo_rhythm(local_seconds_of_day((time_t)now));
		struct demo_attack attack;
		int attacking = demo_attack_at(e->world, now, &attack);
		size_t normal = (size_t)(DEMO_BATCH * share + 0.5);

		for (size_t s = 0; s < e->nsrc; s++) {
			struct demo_source *src = &e->src[s];
			size_t done = 0, count = normal ? normal : 1;

			if (src->format != DEMO_SFLOW_V5 &&
			    (!src->ifaces_sent || now >= src->ifaces_sent + DEMO_IFACES_EVERY_S))
				send_interfaces(src, now, &send_rl);
			for (size_t i = 0; i < count; i++)
				demo_world_flow(e->world, s, &rng, now, &flows[i]);
			if (attacking)
				for (size_t i = 0; i < DEMO_ATTACK_BATCH; i++)
					demo_world_attack_flow(e->world, s, &attack, &rng, now,
							       &flows[count++]);
			while (done < count) {
				size_t len = 0;
				int n = demo_encoder_encode(src->enc, flows + done, count - done,
							    buf, sizeof(buf), &len);

				if (n < 0)
					break;
				send_datagram(src, buf, len, &send_rl);
				done += (size_t)n;
			}
			atomic_fetch_add(&e->sent, done);
		}
		if (e->cfg.max_flows && atomic_load(&e->sent) >= e->cfg.max_flows)
			break;
		next.tv_nsec += (long)(round_ns % 1000000000ull);
		next.tv_sec += (time_t)(round_ns / 1000000000ull);
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		sleep_until(&next);
	}
	return NULL;
}

int demo_exporter_new(const struct demo_exporter_config *cfg, struct demo_exporter **out,
		      struct error *err)
{
	struct demo_exporter *e = calloc(1, sizeof(*e));
	const struct demo_router *routers;
	struct sockaddr_in dst;
	int ret;

	*out = NULL;
	if (!e)
		return error_set(err, -ENOMEM, "%s", strerror(ENOMEM));
	e->nsrc = demo_routers(&routers);
	for (size_t s = 0; s < DEMO_MAX_ROUTERS; s++)
		e->src[s].fd = -1;
	if (e->nsrc > DEMO_MAX_ROUTERS)
		e->nsrc = DEMO_MAX_ROUTERS;
	e->cfg = *cfg;
	ret = parse_target(cfg->target ? cfg->target : "127.0.0.1:2055", &dst);
	if (ret < 0)
		goto fail;
	ret = demo_world_new(NULL, &e->world, err);
	if (ret < 0) {
		demo_exporter_free(e);
		return ret;
	}
	for (size_t s = 0; s < e->nsrc; s++) {
		struct demo_source *src = &e->src[s];
		struct demo_encoder_config ec = {
		    .format = routers[s].format,
		    .domain_id = routers[s].domain_id,
		    .sampling_rate = DEMO_SAMPLING_RATE,
		    .template_refresh = 5,
		    .max_size = 1400,
		};
		struct sockaddr_in bind_addr = {.sin_family = AF_INET};

		src->router = &routers[s];
		src->format = routers[s].format;
		inet_pton(AF_INET, routers[s].address, &bind_addr.sin_addr);
		addr_from_ipv4_bytes(&ec.agent, (const uint8_t *)&bind_addr.sin_addr);
		ret = demo_encoder_new(&ec, &src->enc, NULL);
		if (ret < 0)
			goto fail;
		src->dst = dst;
		if (src->format == DEMO_SFLOW_V5)
			src->dst.sin_port = htons(cfg->sflow_port ? cfg->sflow_port : 6343);
		/* Each router from its own loopback address (Linux accepts any
		 * of 127/8), so that weir sees distinct exporters. */
		src->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (src->fd < 0 ||
		    bind(src->fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	*out = e;
	return 0;
fail:
	demo_exporter_free(e);
	return error_set(err, ret, "%s", strerror(-ret));
}

int demo_exporter_start(struct demo_exporter *e, struct error *err)
{
	int ret;

	if (e->started)
		return 0;
	ret = -pthread_create(&e->thread, NULL, demo_main, e);
	if (ret < 0)
		return error_set(err, ret, "%s", strerror(-ret));
	e->started = 1;
	return 0;
}

uint64_t demo_exporter_flows_sent(const struct demo_exporter *e)
{
	return atomic_load(&((struct demo_exporter *)e)->sent);
}

void demo_exporter_stop(struct demo_exporter *e)
{
	if (!e || !e->started)
		return;
	atomic_store(&e->stop, 1);
	pthread_join(e->thread, NULL);
	e->started = 0;
}

void demo_exporter_free(struct demo_exporter *e)
{
	if (!e)
		return;
	demo_exporter_stop(e);
	demo_world_free(e->world);
	for (size_t s = 0; s < DEMO_MAX_ROUTERS; s++) {
		demo_encoder_free(e->src[s].enc);
		if (e->src[s].fd >= 0)
			close(e->src[s].fd);
	}
	free(e);
}
