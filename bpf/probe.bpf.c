// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The host probe's meter: TC programs (tcx or clsact, ingress and egress) and
 * an XDP ingress variant that add every IP packet to its flow's slot in a
 * table of one-cache-line slots (struct probe_slot, atomic adds). The table
 * in use is the one slot of `flows` (an array of maps): user space swaps in
 * an empty one and drains the old one once no program can write to it any
 * more, which is what makes the counts exact. Times are jiffies: a load,
 * where a clock helper took ~45 ns a packet. */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "probe.h"

#define ETH_P_IP_     0x0800
#define ETH_P_IPV6_   0x86DD
#define ETH_P_8021Q_  0x8100
#define ETH_P_8021AD_ 0x88A8
#define VLAN_MAX      2 /* 802.1Q, and QinQ (802.1ad outer tag) */
#define IPV6_EXT_MAX  6 /* extension headers walked before giving up */
#define TC_ACT_OK_    0

/* Load-time settings. */
const volatile __u32 sampling = 1; /* 1-in-N, count-based per CPU; 1 = every packet */
const volatile __u32 slot_mask = PROBE_DEFAULT_MAX_FLOWS - 1; /* slots of a table - 1 */
const volatile __u32 stage_cpus = 0; /* CPUs with a stage in the table; 0 = none */

/* FIN/RST records wake user space this often at most (jiffies; set by user
 * space from the tick length before load). */
const volatile __u64 flow_end_wakeup_jiffies = 25;

/* When a FIN/RST record last woke user space (jiffies); racy on purpose:
 * two CPUs may both wake it, which is harmless. */
__u64 flow_end_wakeup_at;

/* What probe_clock() read: jiffies, CLOCK_MONOTONIC_COARSE, jiffies again.
 * User space maps jiffies to CLOCK_MONOTONIC with them. */
__u64 clock_sample[3];

struct flow_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROBE_DEFAULT_MAX_FLOWS); /* the inner map given decides */
	__uint(map_flags, BPF_F_MMAPABLE);
	/* Sizes, not types: BTF would only carry a forward declaration of
	 * structs reached through the outer map. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct probe_slot));
};

/* Slot 0 holds the flow table in use; user space owns the tables and swaps
 * them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct flow_map);
} flows SEC(".maps");

/* Packets whose flow had no room in the map, and flows a FIN or RST ended
 * (struct probe_overflow, enum probe_event_kind). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by user space before load */
} overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROBE_STATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Packets since the last sampled one, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sample_count SEC(".maps");

struct vlan_hdr_ {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* What the parser found in one packet. */
struct pkt {
	struct probe_flow_key key;
	__u32 ip_len;  /* IP header and payload of this packet */
	__u32 hdr_len; /* IP (with extension headers) and transport headers */
	__u32 l3_off;  /* where the IP header starts */
	__u16 tcp_flags;
	__u8 tos;
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP = 1,
	PARSE_MALFORMED = 2,
	PARSE_SHORT = 3, /* headers past the linear part: pull and parse again */
};

static __always_inline void stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		(*c)++;
}

/* Takes back a stat() of this CPU. */
static __always_inline void unstat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		(*c)--;
}

/* Transport ports, TCP flags, ICMP type and code (RFC 793, 768, 792, 4443). */
static __always_inline int parse_l4(void *cur, void *end, __u8 proto, struct pkt *p)
{
	if (proto == 6) {
		struct tcphdr *th = cur;
		__u8 *b = cur;

		if ((void *)(th + 1) > end)
			return PARSE_SHORT;
		p->key.src_port = bpf_ntohs(th->source);
		p->key.dst_port = bpf_ntohs(th->dest);
		/* tcpControlBits (RFC 7125): the 12 bits after the data offset. */
		p->tcp_flags = ((__u16)(b[12] & 0x0f) << 8 | b[13]);
		p->hdr_len += th->doff * 4;
	} else if (proto == 17 || proto == 132 || proto == 136) {
		/* UDP, SCTP, UDP-Lite: ports in the first four bytes. */
		struct udphdr *uh = cur;

		if ((void *)(uh + 1) > end)
			return PARSE_SHORT;
		p->key.src_port = bpf_ntohs(uh->source);
		p->key.dst_port = bpf_ntohs(uh->dest);
		p->hdr_len += proto == 132 ? 12 : 8;
	} else if (proto == 1 || proto == 58) {
		__u8 *ic = cur;

		if ((void *)(ic + 2) > end)
			return PARSE_SHORT;
		p->key.dst_port = (__u16)ic[0] << 8 | ic[1];
	}
	return PARSE_OK;
}

static __always_inline int parse_ipv4(void *cur, void *end, struct pkt *p)
{
	struct iphdr *ip = cur;
	__u32 ihl;

	if ((void *)(ip + 1) > end)
		return PARSE_SHORT;
	ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip))
		return PARSE_MALFORMED;
	p->key.ip_version = 4;
	p->key.proto = ip->protocol;
	p->tos = ip->tos;
	p->ip_len = bpf_ntohs(ip->tot_len);
	p->hdr_len = ihl;
	__builtin_memcpy(p->key.src, &ip->saddr, 4);
	__builtin_memcpy(p->key.dst, &ip->daddr, 4);
	/* A non-first fragment has no transport header (RFC 791): ports 0. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return PARSE_OK;
	return parse_l4(cur + ihl, end, ip->protocol, p);
}

static __always_inline int parse_ipv6(void *cur, void *end, struct pkt *p)
{
	struct ipv6hdr *ip6 = cur;
	__u8 next;

	if ((void *)(ip6 + 1) > end)
		return PARSE_SHORT;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	p->key.ip_version = 6;
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->ip_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	p->hdr_len = sizeof(*ip6);
	__builtin_memcpy(p->key.src, &ip6->saddr, 16);
	__builtin_memcpy(p->key.dst, &ip6->daddr, 16);
	next = ip6->nexthdr;
	cur = ip6 + 1;
	/* Extension headers (RFC 8200 section 4): hop-by-hop, routing,
	 * destination options, fragment, and AH (RFC 4302, length in 4-byte
	 * units). A non-first fragment carries no transport header. */
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *opt = cur;
		__u32 len;

		if (next != 0 && next != 43 && next != 60 && next != 44 && next != 51)
			break;
		if ((void *)(opt + 1) > end)
			return PARSE_SHORT;
		if (next == 44) {
			struct frag_hdr *fh = cur;

			if ((void *)(fh + 1) > end)
				return PARSE_SHORT;
			len = 8;
			if (fh->frag_off & bpf_htons(0xfff8)) {
				p->key.proto = fh->nexthdr;
				return PARSE_OK;
			}
		} else if (next == 51) {
			len = ((__u32)opt->hdrlen + 2) * 4;
		} else {
			len = ((__u32)opt->hdrlen + 1) * 8;
		}
		next = opt->nexthdr;
		cur += len;
		p->hdr_len += len;
	}
	p->key.proto = next;
	return parse_l4(cur, end, next, p);
}

/* Ethernet, up to two VLAN tags, then IP. `vlan` is a tag the driver took
 * off the frame (TC: skb->vlan_tci), 0 when none. */
static __always_inline int parse(void *data, void *end, __u16 vlan, struct pkt *p)
{
	struct ethhdr *eth = data;
	void *cur;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return PARSE_SHORT;
	proto = eth->h_proto;
	cur = eth + 1;
#pragma unroll
	for (int i = 0; i < VLAN_MAX; i++) {
		struct vlan_hdr_ *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q_) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		if ((void *)(vh + 1) > end)
			return PARSE_SHORT;
		if (!vlan)
			vlan = bpf_ntohs(vh->tci) & 0x0fff;
		proto = vh->encapsulated_proto;
		cur = vh + 1;
	}
	p->key.vlan = vlan;
	p->l3_off = cur - data;
	if (proto == bpf_htons(ETH_P_IP_))
		return parse_ipv4(cur, end, p);
	if (proto == bpf_htons(ETH_P_IPV6_))
		return parse_ipv6(cur, end, p);
	return PARSE_NOT_IP;
}

/* 1 when this packet is not one of the 1-in-N. */
static __always_inline int sampled_out(void)
{
	__u32 zero = 0;
	__u64 *c;

	if (sampling <= 1)
		return 0;
	c = bpf_map_lookup_elem(&sample_count, &zero);
	if (!c)
		return 0;
	if (++*c < sampling)
		return 1;
	*c = 0;
	return 0;
}

/* The key's hash: the key's words folded and multiplied (Fibonacci
 * hashing); the high half of the product picks the slot. */
static __always_inline __u32 slot_hash(const __u64 *src, const __u64 *dst, __u64 rest)
{
	__u64 h =
	    (src[0] ^ src[1] * 0x9e3779b97f4a7c15ull) + (dst[0] * 0xc2b2ae3d27d4eb4full ^ dst[1]);

	h = (h ^ rest) * 0x9e3779b97f4a7c15ull;
	return (__u32)(h >> 32);
}

/* The 16 high bits of flags_last: jiffies from `first` to now. */
static __always_inline __u16 *slot_last(struct probe_slot *s)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u16 *)&s->flags_last + 1;
#else
	return (__u16 *)&s->flags_last;
#endif
}

static __always_inline __u8 *slot_tos(struct probe_slot *s)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u8 *)&s->word + 3;
#else
	return (__u8 *)&s->word;
#endif
}

static __always_inline void event_fill(struct probe_overflow *o, const struct pkt *p, __u32 kind)
{
	__builtin_memcpy(&o->key, &p->key, sizeof(o->key));
	__builtin_memset(o->value.pad, 0, sizeof(o->value.pad));
	o->value.tos = p->tos;
	o->kind = kind;
	o->pad = 0;
}

/* The key bits of a slot's `word` (probe.h). */
static __always_inline __u32 slot_word(__u16 vlan, __u8 direction, __u8 ip_version, __u8 proto)
{
	return vlan | (__u32)direction << PROBE_SLOT_DIR | (ip_version == 6 ? PROBE_SLOT_V6 : 0) |
	       PROBE_SLOT_INUSE | (__u32)proto << 16;
}

/* A flow in the slot layout (the key, tos in `word`), with flags_last = tcp
 * flags | (jiffies & 0xffff) << 16 and `first` = the key's hash; `packets`
 * and `bytes` are left to the caller. `src` and `dst`: the addresses' 16
 * bytes as two 64-bit loads read them; `word`: slot_word(). What a CPU
 * stages (with its claim word in `bytes`), and what the direct path adds.
 * Both parsers (entry_of(), meter_fast()) write entries through this one,
 * so a flow hashes to one slot whichever of them read its packet. */
static __always_inline void entry_set(struct probe_slot *e, const __u64 *src, const __u64 *dst,
				      __u32 ifindex, __u16 src_port, __u16 dst_port, __u32 word,
				      __u8 tos, __u16 tcp_flags, __u64 now)
{
	__u64 *es = (__u64 *)e->src, *ed = (__u64 *)e->dst;
	__u32 ports = src_port | (__u32)dst_port << 16;

	es[0] = src[0];
	es[1] = src[1];
	ed[0] = dst[0];
	ed[1] = dst[1];
	e->ifindex = ifindex;
	e->src_port = src_port;
	e->dst_port = dst_port;
	e->word = word | (__u32)tos << 24;
	e->first = slot_hash(src, dst, (__u64)ports << 32 ^ word ^ (__u64)ifindex << 16);
	e->flags_last = tcp_flags | (__u32)(now & 0xffff) << 16;
}

/* A parsed packet's entry (entry_set()). */
static __always_inline void entry_of(struct probe_slot *e, const struct pkt *p, __u64 now)
{
	entry_set(e, (const __u64 *)p->key.src, (const __u64 *)p->key.dst, p->key.ifindex,
		  p->key.src_port, p->key.dst_port,
		  slot_word(p->key.vlan, p->key.direction, p->key.ip_version, p->key.proto), p->tos,
		  p->tcp_flags, now);
}

/* Adds `packets` packets of `bytes` bytes of entry `e` (entry_of()) to its
 * flow's slot in `map`, taking a free slot for a new flow. The entry's time
 * is its 16 jiffies bits, at most a drain interval before `now`. Returns the
 * slot, or NULL when the PROBE_SLOT_PROBES slots from the hash are all
 * other flows'. */
static __always_inline struct probe_slot *slot_add(void *map, const struct probe_slot *e,
						   __u64 bytes, __u32 packets, __u64 now)
{
	const __u64 *src = (const __u64 *)e->src, *dst = (const __u64 *)e->dst;
	__u32 word = e->word & PROBE_SLOT_KEYMASK, flags = e->flags_last & 0xffff;
	__u32 t = (__u32)now - (__u16)((__u16)now - (e->flags_last >> 16)), i;

	for (i = 0; i < PROBE_SLOT_PROBES; i++) {
		__u32 j = (e->first + i) & slot_mask, w;
		struct probe_slot *s = bpf_map_lookup_elem(map, &j);
		const __u64 *ss, *sd;
		__s32 last;

		if (!s)
			break;
		w = s->word;
		if (w == 0) {
			if (__sync_val_compare_and_swap(&s->word, 0, PROBE_SLOT_BUSY) != 0) {
				/* Another CPU took it meanwhile: maybe for this
				 * flow, but it may still be writing the key. */
				continue;
			}
			__builtin_memcpy(s->src, e->src, 32);
			s->ifindex = e->ifindex;
			s->src_port = e->src_port;
			s->dst_port = e->dst_port;
			s->bytes = bytes;
			s->first = t;
			s->flags_last = flags;
			s->packets = packets;
			/* Published last (a full barrier): a CPU that sees
			 * the word sees the key. */
			__sync_lock_test_and_set(&s->word, e->word);
			return s;
		}
		ss = (const __u64 *)s->src;
		sd = (const __u64 *)s->dst;
		if ((w & PROBE_SLOT_KEYMASK) != word || ss[0] != src[0] || sd[0] != dst[0] ||
		    ss[1] != src[1] || sd[1] != dst[1] || s->ifindex != e->ifindex ||
		    s->src_port != e->src_port || s->dst_port != e->dst_port)
			continue;
		__sync_fetch_and_add(&s->bytes, bytes);
		if (__sync_fetch_and_add(&s->packets, packets) == 0) {
			/* The first packet since a FIN/RST emptied the slot:
			 * a new piece of the flow starts. */
			s->first = t;
			*slot_tos(s) = (__u8)(e->word >> 24);
		}
		/* A staged packet can be older than the slot's first. */
		last = (__s32)(t - s->first);
		if (last > 0xffff)
			last = 0xffff;
		if (last > 0 && *slot_last(s) < last)
			*slot_last(s) = last;
		if ((s->flags_last | flags) != s->flags_last)
			__sync_fetch_and_or(&s->flags_last, flags);
		return s;
	}
	return NULL;
}

/* No room near the key's slot: user space counts the packets from the
 * ring. */
static __always_inline void map_full(const struct probe_slot *e, __u64 bytes, __u32 packets,
				     __u64 now)
{
	struct probe_overflow *o = bpf_ringbuf_reserve(&overflow, sizeof(*o), 0);

	if (!o) {
		stat(PROBE_STAT_RING_DROP);
		return;
	}
	__builtin_memset(o, 0, sizeof(*o));
	__builtin_memcpy(o->key.src, e->src, 32);
	o->key.ifindex = e->ifindex;
	o->key.src_port = e->src_port;
	o->key.dst_port = e->dst_port;
	o->key.vlan = e->word & 0x0fff;
	o->key.direction = e->word >> PROBE_SLOT_DIR & 1;
	o->key.ip_version = e->word & PROBE_SLOT_V6 ? 6 : 4;
	o->key.proto = e->word >> 16;
	o->value.bytes = bytes;
	o->value.packets = packets;
	o->value.first_ns = now - (__u16)((__u16)now - (e->flags_last >> 16));
	o->value.last_ns = o->value.first_ns;
	o->value.tcp_flags = e->flags_last & 0xffff;
	o->value.tos = e->word >> 24;
	o->kind = PROBE_EVENT_MAP_FULL;
	bpf_ringbuf_submit(o, 0);
	stat(PROBE_STAT_MAP_FULL);
}

/* Sets a stage's count once the entries below it are written: a CPU that
 * reads the count (after an atomic, claim_cpu()) sees them. x86 keeps
 * stores in order, so a compiler barrier is enough there. */
static __always_inline void stage_count(struct probe_slot *hdr, __u32 n)
{
#if defined(__TARGET_ARCH_x86)
	barrier();
	*(volatile __u32 *)&hdr->packets = n;
#else
	__sync_lock_test_and_set(&hdr->packets, n);
#endif
}

/* A stage header's summary of the hashes staged: 128 bits (in `src`), two
 * per hash (probe.h). With 16 packets staged, a hash that is not there
 * finds both its bits set about 5% of the time. */
static __always_inline void stage_summary_add(struct probe_slot *hdr, __u32 hash)
{
	__u64 *sum = (__u64 *)hdr->src;
	__u32 a = PROBE_SUM_A(hash), b = PROBE_SUM_B(hash);

	sum[a >> 6 & 1] |= 1ull << (a & 63);
	sum[b >> 6 & 1] |= 1ull << (b & 63);
}

static __always_inline void stage_summary_clear(struct probe_slot *hdr)
{
	__u64 *sum = (__u64 *)hdr->src;

	sum[0] = 0;
	sum[1] = 0;
}

static __always_inline int stage_summary_has(struct probe_slot *hdr, __u32 a, __u32 b)
{
	volatile __u64 *sum = (volatile __u64 *)hdr->src;

	return (sum[a >> 6 & 1] >> (a & 63) & 1) && (sum[b >> 6 & 1] >> (b & 63) & 1);
}

struct flush_ctx {
	void *map;
	__u64 now;
	__u32 base;
	__u32 claimed; /* entries a FIN on another CPU took (a bit each) */
};

/* One staged packet into its slot: a bpf_loop() callback, so that the
 * verifier looks at slot_add() once, not once per staged packet. */
static long flush_one(__u32 i, void *arg)
{
	struct flush_ctx *c = arg;
	__u32 k = c->base + i;
	struct probe_slot *e;

	if (c->claimed & 1u << (i & 31))
		return 0; /* in a FIN's record (flow_end()) */
	e = bpf_map_lookup_elem(c->map, &k);
	if (e && !slot_add(c->map, e, e->bytes, e->packets, c->now)) {
		/* Counted when staged; an outcome per packet (probe.h). */
		unstat(PROBE_STAT_COUNTED);
		map_full(e, e->bytes, e->packets, c->now);
	}
	return 0;
}

/* Adds the `n` packets a CPU staged (after its header `hdr`, at index
 * `base`) to their slots; the caller has set the count to 0 already. One
 * exchange of the header's claim word starts a new generation: from then
 * on no FIN on another CPU can take any of these (claim_cpu()), and it
 * tells which ones a FIN took before. Then a load of each one's slot,
 * nothing depending on it: the CPU has all the cache misses in flight at
 * once, rather than one after the other (each packet's slot is a miss when
 * the flows are many). */
static __always_inline void flush(void *map, struct probe_slot *hdr, __u32 base, __u32 n, __u64 now)
{
	struct flush_ctx c = {.map = map, .now = now, .base = base};
	__u64 gen = hdr->bytes >> 32; /* only this CPU changes it */
	__u32 i, acc = 0;

	barrier(); /* the count set to 0 before */
	c.claimed = (__u32)__sync_lock_test_and_set(&hdr->bytes, (gen + 1) << 32);

	for (i = 0; i < PROBE_STAGE && i < n; i++) {
		__u32 k = base + i, j;
		struct probe_slot *e = bpf_map_lookup_elem(map, &k), *s;

		if (!e)
			break;
		j = e->first & slot_mask;
		s = bpf_map_lookup_elem(map, &j);
		if (s)
			acc += s->word;
	}
	/* Never true: keeps the loads above. */
	if (acc == 1)
		stat(PROBE_STAT_PACKETS);
	bpf_loop(n < PROBE_STAGE ? n : PROBE_STAGE, flush_one, &c, 0);
}

/* The index of CPU `cpu`'s stage header: after the slots, PROBE_STAGE + 1
 * entries per CPU (probe.h). */
static __always_inline __u32 stage_header(__u32 cpu)
{
	return slot_mask + 1 + cpu * (PROBE_STAGE + 1);
}

/* Adds the `n` packets staged in `hdr` (at `hidx`) to their slots: the
 * count 0 before the new generation (claim_cpu()), the summary cleared. */
static __always_inline void stage_flush(void *map, struct probe_slot *hdr, __u32 hidx, __u32 n,
					__u64 now)
{
	stage_count(hdr, 0);
	stage_summary_clear(hdr);
	flush(map, hdr, hidx + 1, n, now);
}

/* This CPU's stage in `map` (batch-packets): its header, with the header's
 * index in *hidx and the count of packets staged in *n; NULL when the CPU
 * has none. */
static __always_inline struct probe_slot *stage_find(void *map, __u32 cpu, __u32 *hidx, __u32 *n)
{
	struct probe_slot *hdr;

	if (cpu >= stage_cpus)
		return NULL;
	*hidx = stage_header(cpu);
	hdr = bpf_map_lookup_elem(map, hidx);
	if (!hdr)
		return NULL;
	*n = hdr->packets;
	if (*n >= PROBE_STAGE)
		*n = 0; /* cannot be: the count stays below */
	return hdr;
}

/* The entry after the `n` packets staged in the stage at `hidx`. */
static __always_inline struct probe_slot *stage_next(void *map, __u32 hidx, __u32 n)
{
	__u32 k = hidx + 1 + n;

	return bpf_map_lookup_elem(map, &k);
}

/* Stages `packets` packets of `bytes` bytes whose entry_set() is in `e`,
 * the entry after the `n` staged in `hdr` (at `hidx`): counted now (an
 * outcome per packet, probe.h), its hash in the summary, then the count
 * raised; the PROBE_STAGE-th goes to the slots with the others (flush()). */
static __always_inline void stage_commit(void *map, struct probe_slot *hdr, __u32 hidx, __u32 n,
					 struct probe_slot *e, __u64 bytes, __u32 packets,
					 __u64 now)
{
	e->bytes = bytes;
	e->packets = packets;
	stage_summary_add(hdr, e->first);
	stat(PROBE_STAT_COUNTED);
	if (n + 1 < PROBE_STAGE) {
		stage_count(hdr, n + 1);
		return;
	}
	stage_flush(map, hdr, hidx, PROBE_STAGE, now);
}

/* A FIN's flow, and what it took from other CPUs' stages (claim_cpu()). */
struct claim_ctx {
	void *map;
	__u64 src[2], dst[2];
	__u32 ifindex, ports, word, hash;
	__u32 sum_a, sum_b; /* the hash's bits in a stage's summary (probe.h) */
	__u32 cpu;	    /* the FIN's: its own stage is flushed already */
	__u64 now;
	__u64 bytes, packets, first; /* taken; first: jiffies of the oldest */
	__u32 flags;
	__u8 tos; /* of the oldest */
	/* The stage claim_cpu() reads: its header, the header's index, the
	 * claim word as last read or set. */
	struct probe_slot *hdr;
	__u32 h;
	__u64 w;
};

/* Entry `k` of the stage in c->hdr, to the FIN's record when it is of the
 * FIN's flow and not claimed yet (claim_cpu()); 1 stops at the end of
 * the stage or at a new generation. A bpf_loop() callback of its own: the
 * verifier looks at it once, where the 16 entries of a loop, each taken or
 * not, made more paths than it follows on this kernel. */
static long claim_one(__u32 k, void *arg)
{
	struct claim_ctx *c = arg;
	__u32 idx = c->h + 1 + k, bit = 1u << (k & 31), packets, fl, word;
	struct probe_slot *e = bpf_map_lookup_elem(c->map, &idx), *hdr = c->hdr;
	const __u64 *es, *ed;
	__u64 t, v, w = c->w, bytes;

	if (!e || !hdr)
		return 1;
	if (e->first != c->hash || w & bit)
		return 0;
	es = (const __u64 *)e->src;
	ed = (const __u64 *)e->dst;
	if ((e->word & PROBE_SLOT_KEYMASK) != c->word || es[0] != c->src[0] || ed[0] != c->dst[0] ||
	    es[1] != c->src[1] || ed[1] != c->dst[1] || e->ifindex != c->ifindex ||
	    (e->src_port | (__u32)e->dst_port << 16) != c->ports)
		return 0;
	/* Read before the claim: once claimed, its CPU skips it at its next
	 * flush and may write a new packet there. */
	bytes = e->bytes;
	packets = e->packets;
	fl = e->flags_last;
	word = e->word;
	barrier();
	v = __sync_val_compare_and_swap(&hdr->bytes, w, w | bit);
	if (v != w && v >> 32 == w >> 32 && !(v & bit)) {
		/* Another FIN took another entry meanwhile. */
		w = v;
		v = __sync_val_compare_and_swap(&hdr->bytes, w, w | bit);
	}
	if (v != w)
		return 1; /* a new generation: its CPU flushed them */
	c->w = w | bit;
	c->bytes += bytes;
	c->packets += packets;
	c->flags |= fl & 0xffff;
	t = c->now - (__u16)((__u16)c->now - (fl >> 16));
	if (t < c->first) {
		c->first = t;
		c->tos = word >> 24;
	}
	return 0;
}

/* A FIN's CPU takes the packets of its flow that CPU `i` staged and has not
 * added to the slots yet (a bpf_loop() callback, over the CPUs). Each
 * staged entry goes to one side only: a FIN sets its bit in the stage's
 * claim word by compare-and-exchange, within the generation it read; the
 * CPU's flush starts a new generation by an exchange (flush()), which
 * makes any later compare-and-exchange of the old one fail, and skips the
 * entries claimed before. The CPU writes an entry only above its count and
 * sets the count to 0 before a new generation, so what is read here below
 * the count, between the claim word and a successful compare-and-exchange
 * of it, is that generation's and stays so. */
static long claim_cpu(__u32 i, void *arg)
{
	struct claim_ctx *c = arg;
	struct probe_slot *hdr;
	__u32 n;

	if (i == c->cpu)
		return 0;
	c->h = stage_header(i);
	hdr = bpf_map_lookup_elem(c->map, &c->h);
	if (!hdr || !stage_summary_has(hdr, c->sum_a, c->sum_b))
		return 0; /* nothing of this hash staged there */
	/* An atomic read (a full barrier): the count and the entries after
	 * it are at least as new as the generation. */
	c->w = __sync_val_compare_and_swap(&hdr->bytes, 0, 0);
	n = *(volatile __u32 *)&hdr->packets;
	barrier();
	c->hdr = hdr;
	bpf_loop(n < PROBE_STAGE ? n : PROBE_STAGE, claim_one, c, 0);
	return 0;
}

/* A TCP FIN or RST ended the flow: what its slot holds goes to user space
 * now, so the flow is exported within ~150 ms rather than at the next drain
 * (which can then be rare). The slot is emptied by atomic exchanges, not
 * freed: a CPU adding to it at the same time still holds a pointer to it,
 * and each of its adds lands either before an exchange (in this event) or
 * after (in the slot, drained later): the counts add up exactly. Packets
 * are taken before bytes and added after them, so a slot left with bytes
 * always has packets too. With batch-packets, the packets of the flow that
 * other CPUs staged (a sending thread that moved) are taken from their
 * stages too (claim_cpu()): the record holds the flow up to its FIN. When
 * the ring is full the flow just stays in the slot and the stages, for the
 * next drain. Times in the event are jiffies. `e` is the FIN's packet
 * (entry_of()), `s` its slot. */
static __always_inline void flow_end(void *map, const struct pkt *p, const struct probe_slot *e,
				     struct probe_slot *s, __u32 cpu, __u64 now)
{
	struct probe_overflow *o = bpf_ringbuf_reserve(&overflow, sizeof(*o), 0);
	__u64 first;
	__u32 fl;

	if (!o)
		return;
	event_fill(o, p, PROBE_EVENT_FLOW_END);
	o->value.packets = __sync_lock_test_and_set(&s->packets, 0);
	o->value.bytes = __sync_lock_test_and_set(&s->bytes, 0);
	fl = __sync_lock_test_and_set(&s->flags_last, 0);
	o->value.tcp_flags = fl & 0xffff;
	first = o->value.packets ? now - (__u32)((__u32)now - s->first) : now;
	o->value.tos = *slot_tos(s);
	if (stage_cpus > 1) {
		const __u64 *src = (const __u64 *)e->src, *dst = (const __u64 *)e->dst;
		struct claim_ctx c = {
		    .map = map,
		    .src = {src[0], src[1]},
		    .dst = {dst[0], dst[1]},
		    .ifindex = e->ifindex,
		    .ports = e->src_port | (__u32)e->dst_port << 16,
		    .word = e->word & PROBE_SLOT_KEYMASK,
		    .hash = e->first,
		    .sum_a = PROBE_SUM_A(e->first),
		    .sum_b = PROBE_SUM_B(e->first),
		    .cpu = cpu,
		    .now = now,
		    .first = first,
		    .tos = o->value.tos,
		};

		bpf_loop(stage_cpus, claim_cpu, &c, 0);
		o->value.packets += c.packets;
		o->value.bytes += c.bytes;
		o->value.tcp_flags |= c.flags;
		first = c.first;
		o->value.tos = c.tos;
	}
	o->value.first_ns = first;
	o->value.last_ns = now;
	if (!o->value.packets && !o->value.bytes) {
		/* Another CPU's FIN took it all. */
		bpf_ringbuf_discard(o, BPF_RB_NO_WAKEUP);
		return;
	}
	/* A wakeup per ended connection would cost user space more than the
	 * rare drain saves: at most one per flow_end_wakeup_jiffies; user
	 * space looks again 150 ms after any record, which catches those
	 * submitted in between. Sooner when the ring fills up: map-full
	 * packets need its room. */
	if (now - flow_end_wakeup_at >= flow_end_wakeup_jiffies ||
	    bpf_ringbuf_query(&overflow, BPF_RB_AVAIL_DATA) >
		bpf_ringbuf_query(&overflow, BPF_RB_RING_SIZE) / 4) {
		flow_end_wakeup_at = now;
		bpf_ringbuf_submit(o, BPF_RB_FORCE_WAKEUP);
	} else {
		bpf_ringbuf_submit(o, BPF_RB_NO_WAKEUP);
	}
}

/* Adds `packets` packets of `bytes` IP bytes to the packet's flow. A CPU
 * stages packets in its own part of the table (after the slots:
 * PROBE_STAGE + 1 slots per CPU, the first a header, probe.h) and adds
 * PROBE_STAGE of them to their slots at once (flush()); user space drains
 * what is staged with the slots, so every packet is counted once, in a slot
 * or a stage. A TCP FIN or RST flushes the stage, then goes to its slot at
 * once, taking what other CPUs staged of its flow (flow_end()). */
static __always_inline void account(struct pkt *p, __u64 bytes, __u64 packets)
{
	/* Jiffies: tick resolution is enough for IPFIX milliseconds and the
	 * timeouts, and the verifier turns bpf_jiffies64() into one load. */
	__u64 now = bpf_jiffies64();
	int ends = p->tcp_flags & (PROBE_TCP_FIN | PROBE_TCP_RST);
	__u32 zero = 0, cpu = bpf_get_smp_processor_id(), hidx = 0, n = 0;
	struct probe_slot *hdr, *e, local;
	void *map;

	map = bpf_map_lookup_elem(&flows, &zero);
	if (!map) {
		stat(PROBE_STAT_NO_MAP);
		return;
	}
	hdr = stage_find(map, cpu, &hidx, &n);
	if (hdr && !ends) {
		e = stage_next(map, hidx, n);
		if (e) {
			entry_of(e, p, now);
			stage_commit(map, hdr, hidx, n, e, bytes, (__u32)packets, now);
			return;
		}
	} else if (hdr && n) {
		stage_flush(map, hdr, hidx, n, now);
	}
	entry_of(&local, p, now);
	e = slot_add(map, &local, bytes, (__u32)packets, now);
	if (!e) {
		map_full(&local, bytes, (__u32)packets, now);
		return;
	}
	stat(PROBE_STAT_COUNTED);
	if (ends)
		flow_end(map, p, &local, e, cpu, now);
}

/* The first 8 bytes of a 16-byte address field holding IPv4 address `a`
 * (the other 12 zero, as parse_ipv4() leaves them), as a 64-bit load reads
 * them. */
static __always_inline __u64 addr4_word(__be32 a)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return a;
#else
	return (__u64)a << 32;
#endif
}

/* The commonest packet, read straight into its CPU's stage: Ethernet with
 * no tag in the frame, IPv4 without options, not a non-first fragment,
 * UDP, or TCP without FIN or RST, its headers in the linear part, not GSO
 * or GRO, with batch-packets. No struct pkt to clear, fill and copy
 * (parse(), entry_of()): ~10 ns a packet less than the general path's
 * ~90-100 (weir bench probe --test-run, docs/install.md). It counts
 * exactly what the general path would (the key, entry_set()'s hash, the
 * IP total length, tcp flags, tos, the stats), so a flow's packets from
 * either path add up in one slot. Returns 0, having written nothing, for
 * any other packet: meter_skb() parses it. */
static __always_inline int meter_fast(struct __sk_buff *skb, __u8 direction)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	/* TCP and UDP both start with the ports (RFC 793, 768). */
	struct udphdr *l4 = (void *)(ip + 1);
	__u32 zero = 0, hidx, n, word;
	__u16 flags = 0, vlan = 0;
	struct probe_slot *hdr, *e;
	__u64 src[2], dst[2], now;
	void *map;

	if (!stage_cpus || (void *)(l4 + 1) > end)
		return 0;
	/* 0x45: version 4, a 20-byte header. A non-first fragment has no
	 * ports (parse_ipv4()). */
	if (eth->h_proto != bpf_htons(ETH_P_IP_) || *(__u8 *)ip != 0x45 ||
	    ip->frag_off & bpf_htons(0x1fff))
		return 0;
	if (ip->protocol == 6) {
		__u8 *b = (void *)l4;

		if ((void *)((struct tcphdr *)l4 + 1) > end)
			return 0;
		flags = (__u16)(b[12] & 0x0f) << 8 | b[13]; /* as parse_l4() */
		if (flags & (PROBE_TCP_FIN | PROBE_TCP_RST))
			return 0; /* flow_end(), through account() */
	} else if (ip->protocol != 17) {
		return 0;
	}
	if (skb->gso_segs > 1)
		return 0;
	map = bpf_map_lookup_elem(&flows, &zero);
	if (!map)
		return 0;
	hdr = stage_find(map, bpf_get_smp_processor_id(), &hidx, &n);
	e = hdr ? stage_next(map, hidx, n) : NULL;
	if (!e)
		return 0;
	/* A tag the driver took off the frame, as meter_skb() gives parse(). */
	if (skb->vlan_present)
		vlan = skb->vlan_tci & 0x0fff;
	now = bpf_jiffies64();
	src[0] = addr4_word(ip->saddr);
	src[1] = 0;
	dst[0] = addr4_word(ip->daddr);
	dst[1] = 0;
	word = slot_word(vlan, direction, 4, ip->protocol);
	entry_set(e, src, dst, skb->ifindex, bpf_ntohs(l4->source), bpf_ntohs(l4->dest), word,
		  ip->tos, flags, now);
	stage_commit(map, hdr, hidx, n, e, bpf_ntohs(ip->tot_len), 1, now);
	return 1;
}

static __always_inline int meter_skb(struct __sk_buff *skb, __u8 direction)
{
	struct pkt p = {};
	__u64 bytes, segs;
	int r;

	if (sampled_out()) {
		stat(PROBE_STAT_SAMPLED_OUT);
		return TC_ACT_OK_;
	}
	if (meter_fast(skb, direction))
		return TC_ACT_OK_;
	r = parse((void *)(long)skb->data, (void *)(long)skb->data_end,
		  skb->vlan_present ? skb->vlan_tci & 0x0fff : 0, &p);
	if (r == PARSE_SHORT && skb->len > skb->data_end - skb->data) {
		/* Headers beyond the linear part (rare: most drivers put them
		 * there): make them linear, then read again. */
		__builtin_memset(&p, 0, sizeof(p));
		if (bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256) == 0)
			r = parse((void *)(long)skb->data, (void *)(long)skb->data_end,
				  skb->vlan_present ? skb->vlan_tci & 0x0fff : 0, &p);
	}
	if (r == PARSE_NOT_IP) {
		stat(PROBE_STAT_NOT_IP);
		return TC_ACT_OK_;
	}
	if (r == PARSE_MALFORMED || (r == PARSE_SHORT && p.key.ip_version == 0)) {
		stat(PROBE_STAT_MALFORMED);
		return TC_ACT_OK_;
	}
	/* A transport header cut short still counts, without ports. */
	p.key.ifindex = skb->ifindex;
	p.key.direction = direction;
	bytes = p.ip_len;
	segs = skb->gso_segs;
	if (segs > 1) {
		/* A GSO (egress) or GRO (ingress) packet stands for `segs`
		 * packets on the wire, each with its own headers. */
		bytes = skb->len - p.l3_off + (segs - 1) * p.hdr_len;
	} else {
		segs = 1;
	}
	account(&p, bytes, segs);
	return TC_ACT_OK_;
}

SEC("tc")
int probe_ingress(struct __sk_buff *skb)
{
	return meter_skb(skb, PROBE_INGRESS);
}

SEC("tc")
int probe_egress(struct __sk_buff *skb)
{
	return meter_skb(skb, PROBE_EGRESS);
}

SEC("xdp")
int probe_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct pkt p = {};
	int r;

	if (sampled_out()) {
		stat(PROBE_STAT_SAMPLED_OUT);
		return XDP_PASS;
	}
	r = parse(data, end, 0, &p);
	if (r == PARSE_NOT_IP) {
		stat(PROBE_STAT_NOT_IP);
		return XDP_PASS;
	}
	if (r == PARSE_MALFORMED || (r == PARSE_SHORT && p.key.ip_version == 0)) {
		stat(PROBE_STAT_MALFORMED);
		return XDP_PASS;
	}
	p.key.ifindex = ctx->ingress_ifindex;
	p.key.direction = PROBE_INGRESS;
	account(&p, p.ip_len, 1);
	return XDP_PASS;
}

/* Run by user space (BPF_PROG_TEST_RUN) at each drain: a jiffies value and
 * CLOCK_MONOTONIC_COARSE at that tick, to turn the programs' jiffies into
 * monotonic time. A tick between the reads shows in clock_sample[2]: user
 * space reads again. */
SEC("tc")
int probe_clock(struct __sk_buff *skb)
{
	clock_sample[0] = bpf_jiffies64();
	clock_sample[1] = bpf_ktime_get_coarse_ns();
	clock_sample[2] = bpf_jiffies64();
	return TC_ACT_OK_;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
