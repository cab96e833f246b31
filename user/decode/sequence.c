// SPDX-License-Identifier: AGPL-3.0-or-later
/* Sequence-number tracking per (exporter, domain) stream: what was lost
 * before weir (gaps), what came late or twice, and when an exporter started
 * over. Pure: no clock (staleness is a count of datagrams seen). */
#include <errno.h>
#include <stdlib.h>

#include "common/exporter_table.h"
#include "decode_internal.h"

/* One table per protocol: a router may send NetFlow v5 and v9 (or sFlow)
 * from one address with the same domain number, and their counters are
 * unrelated. */
enum { SEQ_V5, SEQ_V9, SEQ_IPFIX, SEQ_SFLOW, SEQ_TABLES };

/* Streams per protocol, per exporter allowed (several domains each). */
#define SEQ_STREAMS_PER_EXPORTER 4
/* How far behind the expected number a datagram may be and still be a late
 * one (UDP reordering, duplicates) rather than a restart. */
#define SEQ_WINDOW_DATAGRAMS 1024u
#define SEQ_WINDOW_RECORDS   65536u
/* An uptime that goes back by more than this is a restart; less is a late
 * datagram stamped earlier. */
#define SEQ_UPTIME_BACK_MS 60000

struct seq_stream {
	uint32_t next;	    /* the number the next datagram should carry */
	uint32_t last;	    /* the number of the newest datagram */
	uint32_t uptime_ms; /* of the newest datagram, when has_uptime */
	uint8_t next_known; /* 0: the last datagram could not be counted (IPFIX) */
	uint8_t has_uptime;
};

struct sequence_tracker {
	struct exporter_table tables[SEQ_TABLES];
	uint64_t tick; /* datagrams seen: the tables' last_seen */
};

int sequence_tracker_new(const struct decode_config *cfg, struct sequence_tracker **out,
			 struct error *err)
{
	struct sequence_tracker *t = calloc(1, sizeof(*t));
	uint64_t max =
	    (uint64_t)(cfg->max_exporters ? cfg->max_exporters : 1) * SEQ_STREAMS_PER_EXPORTER;
	/* Not preallocated: a collector with a few routers keeps a few entries;
	 * a flood of spoofed sources evicts the stalest, it does not grow past
	 * the bound. */
	const struct exporter_table_config tc = {
	    .value_size = sizeof(struct seq_stream),
	    .max_entries = max > (1u << 30) ? (1u << 30) : (size_t)max,
	    .evict = 1,
	};

	*out = NULL;
	if (!t)
		return error_set(err, -ENOMEM, "decode: out of memory for sequence tracking");
	for (int i = 0; i < SEQ_TABLES; i++) {
		int r = exporter_table_init(&t->tables[i], &tc, err);

		if (r < 0) {
			sequence_tracker_free(t);
			return r;
		}
	}
	*out = t;
	return 0;
}

void sequence_tracker_free(struct sequence_tracker *t)
{
	if (!t)
		return;
	for (int i = 0; i < SEQ_TABLES; i++)
		exporter_table_fini(&t->tables[i]);
	free(t);
}

static int table_of(enum decode_protocol p)
{
	switch (p) {
	case DECODE_PROTO_NETFLOW_V5:
		return SEQ_V5;
	case DECODE_PROTO_NETFLOW_V9:
		return SEQ_V9;
	case DECODE_PROTO_IPFIX:
		return SEQ_IPFIX;
	case DECODE_PROTO_SFLOW_V5:
		return SEQ_SFLOW;
	default:
		return -1;
	}
}

/* Starts the stream over at this datagram. */
static void seq_restart(struct seq_stream *s, const struct decode_sequence *q)
{
	s->next = q->number + q->count;
	s->last = q->number;
	s->next_known = !q->count_unknown;
	s->has_uptime = q->has_uptime;
	s->uptime_ms = q->uptime_ms;
}

void sequence_track(struct sequence_tracker *t, struct decode_result *r)
{
	struct decode_sequence *q = &r->seq;
	struct exporter_entry *e;
	struct seq_stream *s;
	uint32_t window;
	int32_t d;
	int created, k = table_of(r->protocol);

	q->lost = q->out_of_order = q->reset = 0;
	if (q->unit == DECODE_SEQ_NONE || k < 0)
		return;
	e = exporter_table_get(&t->tables[k], &r->exporter, q->domain, &created);
	if (!e)
		return; /* out of memory: this datagram goes untracked */
	e->last_seen = ++t->tick;
	s = (struct seq_stream *)e->value;
	if (created) {
		seq_restart(s, q);
		return;
	}
	window = q->unit == DECODE_SEQ_DATAGRAMS ? SEQ_WINDOW_DATAGRAMS : SEQ_WINDOW_RECORDS;
	/* An uptime that went back with a sequence that did not go on: the
	 * exporter rebooted (sysUptime wraps after 49.7 days, hence modulo).
	 * The uptime alone is not trusted: real exporters send datagrams whose
	 * sysUptime goes back by minutes while their sequence goes on. */
	if (q->has_uptime && s->has_uptime &&
	    (int32_t)(q->uptime_ms - s->uptime_ms) < -SEQ_UPTIME_BACK_MS &&
	    (int32_t)(q->number - s->next) < 0) {
		q->reset = 1;
		seq_restart(s, q);
		return;
	}
	if (!s->next_known) {
		/* The previous datagram's records were not all counted: only
		 * a datagram behind it can be judged. */
		d = (int32_t)(q->number - s->last);
		if (d < 0 && (uint32_t) - (int64_t)d <= window) {
			q->out_of_order = 1;
			return;
		}
		if (d < 0)
			q->reset = 1;
		seq_restart(s, q);
		return;
	}
	d = (int32_t)(q->number - s->next);
	if (d < 0) {
		/* Behind: a late or duplicated datagram, or (far behind) a
		 * restart. A late one leaves the stream where it is. */
		if ((uint32_t) - (int64_t)d <= window) {
			q->out_of_order = 1;
			return;
		}
		q->reset = 1;
		seq_restart(s, q);
		return;
	}
	/* In order, or ahead: what lies between was lost before weir. */
	q->lost = (uint32_t)d;
	seq_restart(s, q);
}
