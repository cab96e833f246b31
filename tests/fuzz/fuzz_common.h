/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared by the decoder fuzz targets: one persistent decoder state with small
 * limits (so templates learnt from earlier inputs shape later ones while
 * memory stays bounded), and checks of what a decoder hands back that the
 * sanitizers cannot see (counts past the arrays inside struct flow, results
 * that disagree with the output). A failed check aborts: libFuzzer keeps the
 * input. */
#ifndef WEIR_FUZZ_COMMON_H
#define WEIR_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/flow.h"
#include "common/flow_schema.h"
#include "decode/decode.h"

#define FUZZ_MAX_DATAGRAM 65535
/* Small on purpose: a datagram with more records exercises the flow_limit path. */
#define FUZZ_FLOWS 64

/* The persistent state makes a failure depend on the inputs before it, so a
 * crash file alone may not reproduce it. The targets keep the last inputs;
 * a failed check writes them as fuzz-history-NN.bin (oldest first), which
 * replay in order: `fuzz_ipfix fuzz-history-*.bin`. */
#define FUZZ_HISTORY	 64
#define FUZZ_HISTORY_MAX 4096

struct fuzz_history {
	uint8_t data[FUZZ_HISTORY][FUZZ_HISTORY_MAX];
	size_t len[FUZZ_HISTORY];
	unsigned long next;
};

static inline struct fuzz_history *fuzz_history_get(void)
{
	static struct fuzz_history *h;

	if (!h)
		h = calloc(1, sizeof(*h));
	return h;
}

static inline void fuzz_history_add(const uint8_t *data, size_t size)
{
	struct fuzz_history *h = fuzz_history_get();
	unsigned slot;

	if (!h)
		return;
	slot = h->next++ % FUZZ_HISTORY;
	h->len[slot] = size < FUZZ_HISTORY_MAX ? size : FUZZ_HISTORY_MAX;
	memcpy(h->data[slot], data, h->len[slot]);
}

static inline void fuzz_history_dump(void)
{
	struct fuzz_history *h = fuzz_history_get();
	unsigned long first, n = 0;

	if (!h || !h->next)
		return;
	first = h->next > FUZZ_HISTORY ? h->next - FUZZ_HISTORY : 0;
	for (unsigned long i = first; i < h->next; i++) {
		char name[64];
		FILE *f;

		snprintf(name, sizeof(name), "fuzz-history-%02lu.bin", n++);
		f = fopen(name, "wb");
		if (!f)
			return;
		fwrite(h->data[i % FUZZ_HISTORY], 1, h->len[i % FUZZ_HISTORY], f);
		fclose(f);
	}
	fprintf(stderr, "the last %lu inputs are in fuzz-history-*.bin: replay them in order\n", n);
}

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			fuzz_history_dump();                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* What a decoder may write into a record, whatever the input. */
static inline void fuzz_check_flow(const struct flow *f)
{
	FUZZ_CHECK(f->mpls_labels_count <= FLOW_MAX_MPLS_LABELS);
	FUZZ_CHECK(f->dst_as_path_count <= FLOW_MAX_AS_PATH);
	FUZZ_CHECK(f->dst_communities_count <= FLOW_MAX_COMMUNITIES);
	FUZZ_CHECK(f->dst_large_communities_count <= FLOW_MAX_LARGE_COMMUNITIES);
	FUZZ_CHECK(f->flow_direction <= FLOW_DIRECTION_EGRESS);
	FUZZ_CHECK((f->src_mac >> 48) == 0 && (f->dst_mac >> 48) == 0);
	for (unsigned i = 0; i < f->mpls_labels_count; i++)
		FUZZ_CHECK(f->mpls_labels[i] < (1u << 20));
}

/* Every record goes through the JSON writer too (the weir decode path). */
static inline void fuzz_write_flow(const struct flow *f)
{
	static FILE *sink;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (sink)
		FUZZ_CHECK(flow_write_json(sink, f) == 0);
}

static inline void fuzz_check_result(const struct decode_output *out, const struct decode_result *r,
				     enum decode_reason status)
{
	unsigned long events = 0;

	FUZZ_CHECK(out->count <= out->cap);
	FUZZ_CHECK(r->flows == out->count);
	FUZZ_CHECK(status == r->status);
	FUZZ_CHECK((unsigned)r->status < DECODE_REASON_COUNT);
	FUZZ_CHECK(r->events[DECODE_OK] == 0);
	for (int i = 1; i < DECODE_REASON_COUNT; i++)
		events += r->events[i];
	/* The status is the first error met, so it was counted. */
	FUZZ_CHECK(r->status == DECODE_OK ? events == 0 : r->events[r->status] > 0);
	for (uint32_t i = 0; i < out->count; i++) {
		fuzz_check_flow(&out->flows[i]);
		fuzz_write_flow(&out->flows[i]);
	}
}

/* The persistent state. Limits small enough that the fuzzer reaches them. */
static inline struct decode_state *fuzz_state(enum decode_decap decap)
{
	static struct decode_state *st;

	if (!st) {
		struct decode_config cfg;

		decode_config_init(&cfg);
		cfg.max_exporters = 4;
		cfg.max_templates_per_exporter = 16;
		cfg.max_bytes_per_exporter = 64 << 10;
		cfg.use_export_time = 1;
		cfg.decap = decap;
		FUZZ_CHECK(decode_state_new(&cfg, &st, NULL) == 0);
	}
	return st;
}

/* Decodes data[0..size) with its first bytes replaced by `version` (so the
 * fuzzer spends its time inside the one decoder), from one of 6 exporters
 * chosen by the size (more than max_exporters: the limit is reached too). */
static inline void fuzz_datagram(const uint8_t *data, size_t size, const uint8_t *version,
				 size_t version_len, enum decode_protocol want,
				 enum decode_decap decap)
{
	static struct flow flows[FUZZ_FLOWS];
	struct decode_output out = {.flows = flows, .cap = FUZZ_FLOWS};
	struct decode_result r;
	struct decode_input in = {.time_received = 1700000000};
	enum decode_reason status;
	uint8_t *copy;

	if (size > FUZZ_MAX_DATAGRAM)
		size = FUZZ_MAX_DATAGRAM;
	fuzz_history_add(data, size);
	/* An exact-size heap copy (libFuzzer's buffer is one too, but we
	 * rewrite the version): ASan sees any read past the datagram's end. */
	copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data, size);
	memcpy(copy, version, size < version_len ? size : version_len);
	in.data = copy;
	in.len = size;
	in.exporter.s6_addr[10] = 0xff;
	in.exporter.s6_addr[11] = 0xff;
	in.exporter.s6_addr[12] = 192;
	in.exporter.s6_addr[14] = 2;
	in.exporter.s6_addr[15] = (uint8_t)(1 + size % 6);

	status = decode_datagram(fuzz_state(decap), &in, &out, &r);
	fuzz_check_result(&out, &r, status);
	/* Sequence tracking takes whatever the header said. */
	decode_sequence_track(fuzz_state(decap), &r);
	FUZZ_CHECK(r.seq.out_of_order <= 1 && r.seq.reset <= 1);
	FUZZ_CHECK(!(r.seq.out_of_order && r.seq.lost));
	if (size >= 4) /* shorter: truncated before the version is read */
		FUZZ_CHECK(r.protocol == want);
	free(copy);
}

#endif
