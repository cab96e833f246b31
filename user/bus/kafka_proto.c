// SPDX-License-Identifier: AGPL-3.0-or-later
/* The Kafka bus's messages: the raw envelope (proto/raw_datagram.proto) and
 * the enriched flow (proto/flow.proto). Envelopes are packed with protobuf-c
 * and unpacked by hand, in place, so the consumer neither allocates nor
 * copies per datagram. Flows are mapped through flow_schema.h's column table
 * and the message descriptor's field names, so a column is added in the
 * table and in flow.proto, not here. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bus.h"
#include "../common/flow_schema.h"
#include "flow.pb-c.h"
#include "raw_datagram.pb-c.h"

/* ---- the raw envelope ---- */

int bus_envelope_pack(const struct bus_envelope *env, uint8_t *buf, size_t size)
{
	Weir__RawDatagram m = WEIR__RAW_DATAGRAM__INIT;
	size_t need;

	if (env->len > BUS_MAX_DATAGRAM)
		return -EMSGSIZE;
	m.time_received_ns = env->time_received_ns;
	m.exporter_address.len = sizeof(env->exporter);
	m.exporter_address.data = (uint8_t *)&env->exporter;
	m.exporter_port = env->exporter_port;
	m.payload.len = env->len;
	m.payload.data = (uint8_t *)env->data;
	need = weir__raw_datagram__get_packed_size(&m);
	if (need > size)
		return -EMSGSIZE;
	return (int)weir__raw_datagram__pack(&m, buf);
}

/* Base 128 varint (protobuf encoding guide, "Base 128 Varints"). */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1; /* more than 10 bytes */
}

/* Wire types 0 (varint), 1 (64-bit), 2 (length-delimited), 5 (32-bit);
 * groups (3, 4) are not valid in proto3 messages. Unknown fields are
 * skipped so a newer producer can add fields. */
int bus_envelope_unpack(const uint8_t *buf, size_t len, struct bus_envelope *env)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t key, v;

	memset(env, 0, sizeof(*env));
	env->data = buf; /* an empty payload still points somewhere valid */
	while (p < end) {
		if (read_varint(&p, end, &key) < 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
			return -EBADMSG;
		unsigned field = (unsigned)(key >> 3), wire = key & 7;
		const uint8_t *value = NULL;

		switch (wire) {
		case 0:
			if (read_varint(&p, end, &v) < 0)
				return -EBADMSG;
			break;
		case 1:
		case 5: {
			size_t n = wire == 1 ? 8 : 4;
			if ((size_t)(end - p) < n)
				return -EBADMSG;
			p += n;
			break;
		}
		case 2:
			if (read_varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
				return -EBADMSG;
			value = p;
			p += v;
			break;
		default:
			return -EBADMSG;
		}
		/* The known fields must have their declared wire type. */
		switch (field) {
		case 1: /* time_received_ns */
			if (wire != 0)
				return -EBADMSG;
			env->time_received_ns = v;
			break;
		case 2: /* exporter_address: 16 bytes */
			if (wire != 2 || v != sizeof(env->exporter))
				return -EBADMSG;
			memcpy(&env->exporter, value, sizeof(env->exporter));
			break;
		case 3: /* exporter_port */
			if (wire != 0 || v > 0xffff)
				return -EBADMSG;
			env->exporter_port = (uint16_t)v;
			break;
		case 4: /* payload */
			if (wire != 2 || v > BUS_MAX_DATAGRAM)
				return -EBADMSG;
			env->data = value;
			env->len = (uint32_t)v;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* ---- the enriched flow ---- */

#define FLOW_MAP_MAX 128

/* Field descriptor of each flow_fields[] entry, found once by name. */
static struct {
	pthread_once_t once;
	const ProtobufCFieldDescriptor *fd[FLOW_MAP_MAX];
	int broken; /* a column has no proto field of a fitting type */
} flow_map = {.once = PTHREAD_ONCE_INIT};

static int field_fits(const struct flow_field *ff, const ProtobufCFieldDescriptor *fd)
{
	int repeated = fd->label == PROTOBUF_C_LABEL_REPEATED;

	if (fd->label != PROTOBUF_C_LABEL_NONE && !repeated)
		return 0; /* proto3 fields without `optional` only */
	switch (ff->kind) {
	case FLOW_FIELD_U8:
	case FLOW_FIELD_U16:
	case FLOW_FIELD_U32:
		return !repeated && fd->type == PROTOBUF_C_TYPE_UINT32;
	case FLOW_FIELD_U64:
	case FLOW_FIELD_MAC:
		return !repeated && fd->type == PROTOBUF_C_TYPE_UINT64;
	case FLOW_FIELD_ADDR:
		return !repeated && fd->type == PROTOBUF_C_TYPE_BYTES;
	case FLOW_FIELD_DIRECTION:
		return !repeated && fd->type == PROTOBUF_C_TYPE_ENUM;
	case FLOW_FIELD_U32_ARRAY:
		return repeated && fd->type == PROTOBUF_C_TYPE_UINT32;
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		return repeated && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		       fd->descriptor == &weir__large_community__descriptor;
	}
	return 0;
}

static void flow_map_init(void)
{
	if (flow_fields_count > FLOW_MAP_MAX) {
		flow_map.broken = 1;
		return;
	}
	for (size_t i = 0; i < flow_fields_count; i++) {
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(&weir__flow__descriptor,
								    flow_fields[i].name);

		if (!fd || !field_fits(&flow_fields[i], fd))
			flow_map.broken = 1;
		else
			flow_map.fd[i] = fd;
	}
}

static int flow_map_get(void)
{
	pthread_once(&flow_map.once, flow_map_init);
	return flow_map.broken ? -EPROTO : 0;
}

#define AT(base, off, type)	  ((type *)((char *)(base) + (off)))
#define AT_CONST(base, off, type) ((const type *)((const char *)(base) + (off)))

int bus_flow_pack(const struct flow *f, uint8_t *buf, size_t size)
{
	Weir__Flow m = WEIR__FLOW__INIT;
	Weir__LargeCommunity lc[FLOW_MAX_LARGE_COMMUNITIES], *lcp[FLOW_MAX_LARGE_COMMUNITIES];
	size_t need;

	if (flow_map_get() < 0)
		return -EPROTO;
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *ff = &flow_fields[i];
		const ProtobufCFieldDescriptor *fd = flow_map.fd[i];
		const void *src = AT_CONST(f, ff->offset, void);
		unsigned n;

		switch (ff->kind) {
		case FLOW_FIELD_U8:
		case FLOW_FIELD_U16:
		case FLOW_FIELD_U32:
			*AT(&m, fd->offset, uint32_t) = (uint32_t)flow_field_get_uint(f, ff);
			break;
		case FLOW_FIELD_U64:
		case FLOW_FIELD_MAC:
			*AT(&m, fd->offset, uint64_t) = flow_field_get_uint(f, ff);
			break;
		case FLOW_FIELD_DIRECTION:
			/* protobuf-c keeps enums as C enums, int-sized */
			*AT(&m, fd->offset, int) = (int)flow_field_get_uint(f, ff);
			break;
		case FLOW_FIELD_ADDR:
			/* zero = absent: proto3 leaves empty bytes out */
			if (!flow_field_is_zero(f, ff)) {
				AT(&m, fd->offset, ProtobufCBinaryData)->len =
				    sizeof(struct in6_addr);
				AT(&m, fd->offset, ProtobufCBinaryData)->data = (uint8_t *)src;
			}
			break;
		case FLOW_FIELD_U32_ARRAY:
			n = *AT_CONST(f, ff->count_offset, uint8_t);
			*AT(&m, fd->quantifier_offset, size_t) = n;
			*AT(&m, fd->offset, uint32_t *) = (uint32_t *)src;
			break;
		case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
			n = *AT_CONST(f, ff->count_offset, uint8_t);
			if (n > FLOW_MAX_LARGE_COMMUNITIES)
				n = FLOW_MAX_LARGE_COMMUNITIES;
			for (unsigned k = 0; k < n; k++) {
				const struct flow_large_community *c =
				    &((const struct flow_large_community *)src)[k];
				weir__large_community__init(&lc[k]);
				lc[k].global_admin = c->global_admin;
				lc[k].local_data1 = c->local_data1;
				lc[k].local_data2 = c->local_data2;
				lcp[k] = &lc[k];
			}
			*AT(&m, fd->quantifier_offset, size_t) = n;
			*AT(&m, fd->offset, Weir__LargeCommunity **) = lcp;
			break;
		}
	}
	need = weir__flow__get_packed_size(&m);
	if (need > size)
		return -EMSGSIZE;
	return (int)weir__flow__pack(&m, buf);
}

/* Array capacity of a U32_ARRAY column, from the struct flow layout (a new
 * array column needs a line here; until then its values are refused). */
static unsigned u32_array_cap(const struct flow_field *ff)
{
	if (ff->offset == offsetof(struct flow, mpls_labels))
		return FLOW_MAX_MPLS_LABELS;
	if (ff->offset == offsetof(struct flow, dst_as_path))
		return FLOW_MAX_AS_PATH;
	if (ff->offset == offsetof(struct flow, dst_communities))
		return FLOW_MAX_COMMUNITIES;
	return 0;
}

/* Writes an integer column of the width its kind says. */
static void store_uint(struct flow *f, const struct flow_field *ff, uint64_t v)
{
	void *dst = AT(f, ff->offset, void);

	switch (ff->kind) {
	case FLOW_FIELD_U8:
	case FLOW_FIELD_DIRECTION:
		*(uint8_t *)dst = (uint8_t)v;
		break;
	case FLOW_FIELD_U16:
		*(uint16_t *)dst = (uint16_t)v;
		break;
	case FLOW_FIELD_U32:
		*(uint32_t *)dst = (uint32_t)v;
		break;
	default:
		*(uint64_t *)dst = v;
		break;
	}
}

int bus_flow_unpack(const uint8_t *buf, size_t len, struct flow *f)
{
	Weir__Flow *m;
	int ret = 0;

	if (flow_map_get() < 0)
		return -EPROTO;
	m = weir__flow__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	flow_reset(f);
	for (size_t i = 0; i < flow_fields_count && !ret; i++) {
		const struct flow_field *ff = &flow_fields[i];
		const ProtobufCFieldDescriptor *fd = flow_map.fd[i];
		size_t n;

		switch (ff->kind) {
		case FLOW_FIELD_U8:
		case FLOW_FIELD_U16:
		case FLOW_FIELD_U32:
			store_uint(f, ff, *AT(m, fd->offset, uint32_t));
			break;
		case FLOW_FIELD_U64:
		case FLOW_FIELD_MAC:
			store_uint(f, ff, *AT(m, fd->offset, uint64_t));
			break;
		case FLOW_FIELD_DIRECTION:
			store_uint(f, ff, (uint64_t)*AT(m, fd->offset, int));
			break;
		case FLOW_FIELD_ADDR: {
			const ProtobufCBinaryData *b = AT(m, fd->offset, ProtobufCBinaryData);
			if (b->len == sizeof(struct in6_addr))
				memcpy(AT(f, ff->offset, void), b->data, b->len);
			else if (b->len != 0)
				ret = -EBADMSG;
			break;
		}
		case FLOW_FIELD_U32_ARRAY:
			n = *AT(m, fd->quantifier_offset, size_t);
			if (n > u32_array_cap(ff)) {
				ret = -EBADMSG;
				break;
			}
			if (n)
				memcpy(AT(f, ff->offset, void), *AT(m, fd->offset, uint32_t *),
				       n * sizeof(uint32_t));
			*AT(f, ff->count_offset, uint8_t) = (uint8_t)n;
			break;
		case FLOW_FIELD_LARGE_COMMUNITY_ARRAY: {
			Weir__LargeCommunity **lc = *AT(m, fd->offset, Weir__LargeCommunity **);
			struct flow_large_community *dst =
			    AT(f, ff->offset, struct flow_large_community);
			n = *AT(m, fd->quantifier_offset, size_t);
			if (n > FLOW_MAX_LARGE_COMMUNITIES) {
				ret = -EBADMSG;
				break;
			}
			for (size_t k = 0; k < n; k++)
				dst[k] = (struct flow_large_community){
				    lc[k]->global_admin, lc[k]->local_data1, lc[k]->local_data2};
			*AT(f, ff->count_offset, uint8_t) = (uint8_t)n;
			break;
		}
		}
	}
	weir__flow__free_unpacked(m, NULL);
	return ret;
}
