// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `flow:` configuration section: field tables, defaults, and the parsing
 * of listen addresses and queue lists shared by the inlet's parts. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inlet_internal.h"

static const char *const input_types[] = {"udp", "afxdp", NULL};
static const char *const xdp_modes[] = {"auto", "native", "generic", NULL};

static const struct config_field port_item = {.type = CONFIG_UINT, .min = 1, .max = 65535};
static const struct config_field prefix_item = {.type = CONFIG_STRING,
						.check = config_check_prefix};

/* queues: all | N | [N, N...] */
static int parse_queues(const struct config_node *node, void *dst, const char *path,
			const char *file, struct config_error *err)
{
	struct inlet_queues *q = dst;
	char *end;

	memset(q, 0, sizeof(*q));
	if (node->type == CONFIG_NODE_SCALAR && strcmp(node->value, "all") == 0)
		return 0;
	if (node->type == CONFIG_NODE_SCALAR) {
		unsigned long v = strtoul(node->value, &end, 10);

		if (end == node->value || *end || v >= 4096)
			goto bad;
		q->count = 1;
		q->ids[0] = (uint32_t)v;
		return 0;
	}
	if (node->type != CONFIG_NODE_SEQ || node->nchildren == 0 ||
	    node->nchildren > INLET_MAX_QUEUES)
		goto bad;
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct config_node *c = node->children[i];
		unsigned long v;

		if (c->type != CONFIG_NODE_SCALAR)
			goto bad;
		v = strtoul(c->value, &end, 10);
		if (end == c->value || *end || v >= 4096)
			goto bad;
		q->ids[q->count++] = (uint32_t)v;
	}
	return 0;
bad:
	config_error_set(err, file, node->line, path,
			 "expected all, a queue number, or a list of up to %d queue numbers",
			 INLET_MAX_QUEUES);
	return -EINVAL;
}

static const struct config_field input_fields[] = {
    {.key = "type",
     .type = CONFIG_ENUM,
     .offset = offsetof(struct inlet_input_config, type),
     .choices = input_types},
    {.key = "listen",
     .type = CONFIG_STRING,
     .offset = offsetof(struct inlet_input_config, listen),
     .check = config_check_listen},
    {.key = "interface",
     .type = CONFIG_STRING,
     .offset = offsetof(struct inlet_input_config, interface)},
    {.key = "queues",
     .type = CONFIG_CUSTOM,
     .offset = offsetof(struct inlet_input_config, queues),
     .parse = parse_queues},
    {.key = "workers",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_input_config, workers),
     .min = 1,
     .max = 256},
    {.key = "receive-buffer",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct inlet_input_config, receive_buffer),
     .min = 4096,
     .max = 1ll << 31},
    {.key = "mode",
     .type = CONFIG_ENUM,
     .offset = offsetof(struct inlet_input_config, mode),
     .choices = xdp_modes},
    {.key = "busy-poll",
     .type = CONFIG_BOOL,
     .offset = offsetof(struct inlet_input_config, busy_poll)},
    {.key = "ports",
     .type = CONFIG_LIST,
     .offset = offsetof(struct inlet_input_config, ports),
     .item = &port_item,
     .item_size = sizeof(uint64_t)},
    {.key = "frame-size",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct inlet_input_config, frame_size),
     .min = 2048,
     .max = 4096},
    {.key = "frames",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_input_config, frames),
     .min = 64,
     .max = 1 << 20},
    {.key = "rx-ring-size",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_input_config, rx_size),
     .min = 64,
     .max = 1 << 16},
    {.key = "fill-ring-size",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_input_config, fill_size),
     .min = 64,
     .max = 1 << 16},
    {.key = "batch",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_input_config, batch),
     .min = 1,
     .max = INLET_MAX_BATCH},
    {0},
};

static const struct config_field input_item = {.type = CONFIG_SECTION, .fields = input_fields};

const struct config_field inlet_config_fields[] = {
    {.key = "inputs",
     .type = CONFIG_LIST,
     .offset = offsetof(struct inlet_config, inputs),
     .item = &input_item,
     .item_size = sizeof(struct inlet_input_config)},
    {.key = "allowlist",
     .type = CONFIG_LIST,
     .offset = offsetof(struct inlet_config, allowlist),
     .item = &prefix_item,
     .item_size = sizeof(char *)},
    {.key = "rate-limit",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_config, rate_limit),
     .min = 0,
     .max = XDP_STEER_MAX_RATE},
    {.key = "rate-burst",
     .type = CONFIG_UINT,
     .offset = offsetof(struct inlet_config, rate_burst),
     .min = 0,
     .max = XDP_STEER_MAX_RATE},
    {0},
};

void inlet_config_defaults(struct inlet_config *cfg)
{
	/* Lists get no defaults here (the binder replaces them); an empty
	 * inputs list means UDP on :2055, :4739 and :6343, chosen in inlet_new(). */
	memset(cfg, 0, sizeof(*cfg));
}

int inlet_parse_listen(const char *text, struct sockaddr_in6 *sa, struct error *err)
{
	if (!text || !*text)
		text = ":2055";
	if (addr_parse_listen(text, sa) == 0)
		return 0;
	return error_set(err, -EINVAL,
			 "flow.inputs: listen \"%s\": expected HOST:PORT, [IPV6]:PORT or :PORT",
			 text);
}
