// SPDX-License-Identifier: AGPL-3.0-or-later
/* The YAML loader and binder: values, defaults, and errors that name the
 * file, line and key. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/config.h"
#include "test.h"

struct input {
	char *listen;
	uint64_t workers;
	struct config_list ports;
};

struct sample {
	char *name;
	int64_t offset;
	int enabled;
	uint64_t interval_ms;
	uint64_t buffer;
	int mode;
	struct config_list inputs;
};

static const char *const modes[] = {"udp", "afxdp", NULL};

static const struct config_field port_item = {.type = CONFIG_UINT, .min = 1, .max = 65535};

static const struct config_field input_fields[] = {
    {.key = "listen",
     .type = CONFIG_STRING,
     .offset = offsetof(struct input, listen),
     .required = 1},
    {.key = "workers",
     .type = CONFIG_UINT,
     .offset = offsetof(struct input, workers),
     .min = 1,
     .max = 64},
    {.key = "ports",
     .type = CONFIG_LIST,
     .offset = offsetof(struct input, ports),
     .item = &port_item,
     .item_size = sizeof(uint64_t)},
    {0},
};

static const struct config_field input_item = {.type = CONFIG_SECTION, .fields = input_fields};

static const struct config_field sample_fields[] = {
    {.key = "name", .type = CONFIG_STRING, .offset = offsetof(struct sample, name)},
    {.key = "offset", .type = CONFIG_INT, .offset = offsetof(struct sample, offset)},
    {.key = "enabled", .type = CONFIG_BOOL, .offset = offsetof(struct sample, enabled)},
    {.key = "interval", .type = CONFIG_DURATION, .offset = offsetof(struct sample, interval_ms)},
    {.key = "buffer", .type = CONFIG_SIZE, .offset = offsetof(struct sample, buffer)},
    {.key = "mode", .type = CONFIG_ENUM, .offset = offsetof(struct sample, mode), .choices = modes},
    {.key = "inputs",
     .type = CONFIG_LIST,
     .offset = offsetof(struct sample, inputs),
     .item = &input_item,
     .item_size = sizeof(struct input)},
    {0},
};

static int bind_text(const char *text, struct sample *s, struct config_error *err)
{
	struct config_doc *doc = config_doc_load_string("t.yaml", text, err);
	int r;

	if (!doc)
		return -1;
	r = config_bind(doc->root, sample_fields, s, "", doc->path, err);
	config_doc_free(doc);
	return r;
}

TEST(config_binds_every_type)
{
	struct sample s = {.offset = 7};
	struct config_error err;

	REQUIRE_EQ(
	    bind_text("name: edge\nenabled: yes\ninterval: 5s\nbuffer: 16MiB\nmode: afxdp\n"
		      "inputs:\n  - listen: \":2055\"\n    workers: 4\n    ports: [2055, 4739]\n"
		      "  - listen: \"[::1]:6343\"\n",
		      &s, &err),
	    0);
	CHECK_STR(s.name, "edge");
	CHECK_EQ(s.offset, 7); /* absent: the default stays */
	CHECK_EQ(s.enabled, 1);
	CHECK_EQ(s.interval_ms, 5000);
	CHECK_EQ(s.buffer, 16u << 20);
	CHECK_EQ(s.mode, 1);
	REQUIRE_EQ(s.inputs.count, 2);
	struct input *in = s.inputs.items;
	CHECK_STR(in[0].listen, ":2055");
	CHECK_EQ(in[0].workers, 4);
	REQUIRE_EQ(in[0].ports.count, 2);
	CHECK_EQ(((uint64_t *)in[0].ports.items)[1], 4739);
	CHECK_STR(in[1].listen, "[::1]:6343");
	config_free_bound(sample_fields, &s);
	CHECK(s.name == NULL && s.inputs.count == 0);
}

TEST(config_unknown_key_names_file_line_and_path)
{
	struct sample s = {0};
	struct config_error err;

	CHECK(bind_text("name: a\ninputs:\n  - listen: x\n    wokers: 2\n", &s, &err) < 0);
	CHECK_STR(err.text, "t.yaml:4: inputs[0].wokers: unknown key");
	config_free_bound(sample_fields, &s);
}

TEST(config_bad_values_are_errors)
{
	struct config_error err;
	struct {
		const char *text, *want;
	} cases[] = {
	    {"enabled: maybe\n",
	     "t.yaml:1: enabled: invalid value \"maybe\": expected true or false"},
	    {"interval: 5 parsecs\n", "t.yaml:1: interval: invalid value \"5 parsecs\": expected a "
				      "duration like 500ms, 5s, 2m, 1h, 15d"},
	    {"mode: tcp\n", "t.yaml:1: mode: invalid value \"tcp\": expected one of the listed "
			    "words (udp, afxdp)"},
	    {"inputs:\n  - listen: a\n    workers: 0\n",
	     "t.yaml:3: inputs[0].workers: 0 is out of range [1, 64]"},
	    {"inputs:\n  - workers: 2\n", "t.yaml:2: inputs[0].listen: required key is missing"},
	    {"inputs:\n  - listen: a\n    ports: [70000]\n",
	     "t.yaml:3: inputs[0].ports[0]: 70000 is out of range [1, 65535]"},
	    {"name: [a]\n", "t.yaml:1: name: expected a value, found a list"},
	    {"name: a\nname: b\n", "t.yaml:2: name: key given twice (first on line 1)"},
	    {"offset: -3x\n", "t.yaml:1: offset: invalid value \"-3x\": expected an integer"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sample s = {0};
		err.text[0] = '\0';
		CHECK(bind_text(cases[i].text, &s, &err) < 0);
		CHECK_STR(err.text, cases[i].want);
		config_free_bound(sample_fields, &s);
	}
}

TEST(config_yaml_syntax_error_has_a_line)
{
	struct config_error err;
	struct config_doc *doc = config_doc_load_string("t.yaml", "a: 1\nb: [1, 2\nc: 3\n", &err);

	CHECK(doc == NULL);
	CHECK(strncmp(err.text, "t.yaml:", 7) == 0);
	CHECK(strstr(err.text, "YAML syntax") != NULL);
}

TEST(config_missing_file_is_named)
{
	struct config_error err;

	CHECK(config_doc_load_file("/nonexistent/weir.yaml", &err) == NULL);
	CHECK_STR(err.text, "/nonexistent/weir.yaml: No such file or directory");
}

TEST(config_units)
{
	uint64_t v;

	CHECK(config_parse_duration_ms("250ms", &v) == 0 && v == 250);
	CHECK(config_parse_duration_ms("15d", &v) == 0 && v == 15ull * 86400000);
	CHECK(config_parse_duration_ms("3", &v) == 0 && v == 3000);
	CHECK(config_parse_duration_ms("-1s", &v) < 0);
	CHECK(config_parse_size("64KiB", &v) == 0 && v == 65536);
	CHECK(config_parse_size("1GB", &v) == 0 && v == 1000000000);
	CHECK(config_parse_size("99999999999999999999", &v) < 0);
}

/* A big map (past the key set's growth steps) still finds a key given twice,
 * and names the first line. */
TEST(config_key_given_twice_in_a_big_map)
{
	struct config_error err;
	size_t size = 40 * 1000 + 64, off = 0;
	char *text = malloc(size);

	REQUIRE(text);
	for (unsigned i = 0; i < 3000; i++)
		off += (size_t)snprintf(text + off, size - off, "k%u: %u\n", i, i);
	struct config_doc *doc = config_doc_load_string("t.yaml", text, &err);
	CHECK(doc != NULL);
	CHECK(doc && doc->root->nchildren == 3000);
	config_doc_free(doc);
	snprintf(text + off, size - off, "k1717: again\n");
	doc = config_doc_load_string("t.yaml", text, &err);
	CHECK(doc == NULL);
	CHECK_STR(err.text, "t.yaml:3001: k1717: key given twice (first on line 1718)");
	config_doc_free(doc);
	free(text);
}
