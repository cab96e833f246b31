// SPDX-License-Identifier: AGPL-3.0-or-later
/* Classifier language: every function, operator and error path, and the
 * issue's Akvorado examples. */
#include <stdio.h>
#include <string.h>

#include "common/flow.h"
#include "enrich/classify.h"
#include "test.h"

static struct classify_rule *compile(enum classify_kind kind, const char *text)
{
	struct classify_rule *r = NULL;
	struct error err = {{0}};
	if (classify_rule_compile(kind, text, &r, &err) < 0)
		test_fail_at(__FILE__, __LINE__, "compile \"%s\": %s", text, err.text);
	return r;
}

/* Compiles and evaluates an exporter rule; returns its value (or -1). */
static int ex(const char *text, const char *ip, const char *name, struct classify_exporter_out *out)
{
	struct classify_exporter_in in = {.ip = ip, .name = name};
	struct classify_rule *r = compile(CLASSIFY_EXPORTER, text);
	struct error err = {{0}};
	if (!r)
		return -1;
	int v = classify_eval_exporter(r, &in, out, &err);
	classify_rule_free(r);
	return v;
}

static int ifx(const char *text, const struct classify_interface_in *in,
	       struct classify_interface_out *out)
{
	struct classify_exporter_in exp = {.ip = "192.0.2.1", .name = "par1-edge1"};
	struct classify_rule *r = compile(CLASSIFY_INTERFACE, text);
	struct error err = {{0}};
	if (!r)
		return -1;
	int v = classify_eval_interface(r, &exp, in, out, &err);
	classify_rule_free(r);
	return v;
}

static int truth(const char *text)
{
	struct classify_interface_in in = {.index = 335,
					   .name = "et-0/0/1",
					   .description = "Transit: Cogent 1-2345",
					   .speed = 100000,
					   .vlan = 10};
	struct classify_interface_out out = {0};
	return ifx(text, &in, &out);
}

/* The compile error of `text`, in a static buffer ("" when it compiled). */
static const char *compile_error(enum classify_kind kind, const char *text)
{
	static struct error err;
	struct classify_rule *r = NULL;
	memset(&err, 0, sizeof(err));
	if (classify_rule_compile(kind, text, &r, &err) == 0) {
		classify_rule_free(r);
		return "";
	}
	return err.text;
}

#define CHECK_ERR(kind, text, needle)                                                              \
	do {                                                                                       \
		const char *e_ = compile_error(kind, text);                                        \
		if (!strstr(e_, needle))                                                           \
			test_fail_at(__FILE__, __LINE__, "error of %s: \"%s\" lacks \"%s\"", text, \
				     e_, needle);                                                  \
	} while (0)

TEST(example_region_by_suffix)
{
	struct classify_exporter_out out = {0};
	CHECK_EQ(ex("Exporter.Name endsWith \".it\" && ClassifyRegion(\"italy\")", "192.0.2.1",
		    "rtr1.mil.it", &out),
		 1);
	CHECK_STR(out.region, "italy");
	struct classify_exporter_out out2 = {0};
	CHECK_EQ(ex("Exporter.Name endsWith \".it\" && ClassifyRegion(\"italy\")", "192.0.2.1",
		    "rtr1.par.fr", &out2),
		 0);
	CHECK_STR(out2.region, "");
}

TEST(example_site_regex)
{
	struct classify_exporter_out out = {0};
	CHECK_EQ(ex("ClassifySiteRegex(Exporter.Name, \"^([^-]+)-\", \"$1\")", "192.0.2.1",
		    "par1-edge1", &out),
		 1);
	CHECK_STR(out.site, "par1");
	struct classify_exporter_out none = {0};
	CHECK_EQ(ex("ClassifySiteRegex(Exporter.Name, \"^([^-]+)-\", \"$1\")", "192.0.2.1",
		    "nodash", &none),
		 0);
	CHECK_STR(none.site, "");
}

TEST(example_interface_transit)
{
	const char *rule =
	    "ClassifyConnectivityRegex(Interface.Description, \"^(?i)(transit|pni|ppni|ix):? \", "
	    "\"$1\") && ClassifyProviderRegex(Interface.Description, \"^[^ ]+? ([^ ]+)\", \"$1\") "
	    "&& ClassifyExternal()";
	struct classify_interface_in in = {.index = 335,
					   .name = "et-0/0/1",
					   .description = "Transit: Cogent 1-2345",
					   .speed = 100000};
	struct classify_interface_out out = {0};
	CHECK_EQ(ifx(rule, &in, &out), 1);
	CHECK_STR(out.connectivity, "transit");
	CHECK_STR(out.provider, "cogent");
	CHECK_EQ(out.boundary, FLOW_BOUNDARY_EXTERNAL);

	struct classify_interface_in core = {.index = 1, .description = "core link to par2"};
	struct classify_interface_out out2 = {0};
	CHECK_EQ(ifx(rule, &core, &out2), 0);
	CHECK_STR(out2.connectivity, "");
	CHECK_EQ(out2.boundary, FLOW_BOUNDARY_UNDEFINED);
}

TEST(exporter_setters_all)
{
	struct classify_exporter_out out = {0};
	CHECK_EQ(ex("Classify(\"G1\") && ClassifyRole(\"Edge Router\") && ClassifySite(\"par_1\") "
		    "&& ClassifyRegion(\"EU\") && ClassifyTenant(\"ACME!\")",
		    "192.0.2.1", "x", &out),
		 1);
	CHECK_STR(out.group, "g1");
	CHECK_STR(out.role, "edgerouter"); /* lower-cased, [a-z0-9.+-] kept */
	CHECK_STR(out.site, "par1");
	CHECK_STR(out.region, "eu");
	CHECK_STR(out.tenant, "acme");
	/* ClassifyGroup is Classify; the first value set wins. */
	CHECK_EQ(ex("ClassifyGroup(\"other\")", "192.0.2.1", "x", &out), 1);
	CHECK_STR(out.group, "g1");
}

TEST(exporter_regex_forms)
{
	struct classify_exporter_out out = {0};
	const char *name = "ams5-core2.tenant-b.nl";
	CHECK_EQ(ex("ClassifyGroupRegex(Exporter.Name, \"-([a-z]+)\", \"$1\")", "", name, &out), 1);
	CHECK_EQ(ex("ClassifyRoleRegex(Exporter.Name, \"^[a-z]+[0-9]-([a-z]+)\", \"${1}x\")", "",
		    name, &out),
		 1);
	CHECK_EQ(ex("ClassifyRegionRegex(Exporter.Name, \"\\\\.(?P<cc>[a-z]+)$\", \"$cc\")", "",
		    name, &out),
		 1);
	CHECK_EQ(
	    ex("ClassifyTenantRegex(Exporter.Name, \"(tenant-[a-z])\", \"$1$$\")", "", name, &out),
	    1);
	/* Already set: true without looking (Akvorado); unset and no match: false. */
	CHECK_EQ(ex("ClassifyRegex(Exporter.Name, \"^(x)\", \"$1\")", "", name, &out), 1);
	struct classify_exporter_out fresh = {0};
	CHECK_EQ(ex("ClassifyRegex(Exporter.Name, \"^(x)\", \"$1\")", "", name, &fresh), 0);
	CHECK_STR(out.group, "core");
	CHECK_STR(out.role, "corex");
	CHECK_STR(out.region, "nl");
	CHECK_STR(out.tenant, "tenant-b"); /* "$" dropped by normalisation */
	/* $1x is the group named "1x" in Go: empty. */
	struct classify_exporter_out o2 = {0};
	CHECK_EQ(ex("ClassifySiteRegex(Exporter.Name, \"^([a-z]+)\", \"$1x-y\")", "", name, &o2),
		 1);
	CHECK_STR(o2.site, "-y");
}

TEST(reject_and_exporter_ip)
{
	struct classify_exporter_out out = {0};
	CHECK_EQ(ex("Exporter.IP startsWith \"192.0.2.\" && Reject()", "192.0.2.9", "x", &out), 0);
	CHECK_EQ(out.reject, 1);
	struct classify_exporter_out o2 = {0};
	CHECK_EQ(ex("Exporter.IP startsWith \"192.0.2.\" && Reject()", "198.51.100.1", "x", &o2),
		 0);
	CHECK_EQ(o2.reject, 0);
}

TEST(interface_setters)
{
	struct classify_interface_in in = {.index = 7,
					   .name = "xe-0/0/7",
					   .description = "PNI Google",
					   .speed = 10000,
					   .vlan = 42};
	struct classify_interface_out out = {0};
	CHECK_EQ(ifx("ClassifyProvider(\"Google\") && ClassifyConnectivity(\"PNI\") && "
		     "ClassifyInternal() && ClassifyExternal() && SetName(\"Et 7\") && "
		     "SetDescription(Format(\"%s via %d\", Interface.Description, Interface.VLAN))",
		     &in, &out),
		 1);
	CHECK_STR(out.provider, "google");
	CHECK_STR(out.connectivity, "pni");
	CHECK_EQ(out.boundary, FLOW_BOUNDARY_INTERNAL); /* first set wins */
	CHECK_STR(out.name, "Et 7");			/* not normalised */
	CHECK_STR(out.description, "PNI Google via 42");
	CHECK_EQ(ifx("SetName(\"again\")", &in, &out), 1);
	CHECK_STR(out.name, "Et 7");
	struct classify_interface_out o2 = {0};
	CHECK_EQ(ifx("Interface.VLAN == 42 && Reject()", &in, &o2), 0);
	CHECK_EQ(o2.reject, 1);
}

TEST(operators)
{
	/* Interface: 335 et-0/0/1 "Transit: Cogent 1-2345" 100000 Mbps VLAN 10 */
	CHECK_EQ(truth("Interface.Index == 335"), 1);
	CHECK_EQ(truth("Interface.Index != 335"), 0);
	CHECK_EQ(truth("Interface.Speed > 10000 && Interface.Speed >= 100000"), 1);
	CHECK_EQ(truth("Interface.Speed < 100000 || Interface.Speed <= 99999"), 0);
	CHECK_EQ(truth("!(Interface.VLAN == 10)"), 0);
	CHECK_EQ(truth("not (Interface.VLAN == 11)"), 1);
	CHECK_EQ(truth("Interface.VLAN == 10 and Interface.Index == 335"), 1);
	CHECK_EQ(truth("Interface.VLAN == 11 or Interface.Index == 335"), 1);
	CHECK_EQ(truth("Interface.Name in [\"et-0/0/0\", \"et-0/0/1\"]"), 1);
	CHECK_EQ(truth("Interface.Name in [\"ge-0/0/1\"]"), 0);
	CHECK_EQ(truth("Interface.VLAN in [1, 10, 100]"), 1);
	CHECK_EQ(truth("Interface.Name startsWith \"et-\""), 1);
	CHECK_EQ(truth("Interface.Name endsWith \"/1\""), 1);
	CHECK_EQ(truth("Interface.Description contains \"Cogent\""), 1);
	CHECK_EQ(truth("Interface.Description contains \"cogent\""), 0);
	CHECK_EQ(truth("Interface.Description matches \"^(?i)transit\""), 1);
	CHECK_EQ(truth("Interface.Description matches \"^pni\""), 0);
	CHECK_EQ(truth("Interface.Name == 'et-0/0/1'"), 1);
	CHECK_EQ(truth("Interface.Name == `et-0/0/1`"), 1);
	CHECK_EQ(truth("\"b\" > \"a\" && \"a\" < \"ab\""), 1);
	CHECK_EQ(truth("Interface.Speed / 1000 == 100 && Interface.Index % 100 == 35"), 1);
	CHECK_EQ(truth("2 + 3 * 4 == 14 && (2 + 3) * 4 == 20 && 10 - 2 - 3 == 5"), 1);
	CHECK_EQ(truth("-Interface.VLAN == -10"), 1);
	CHECK_EQ(truth("Interface.Name + \"!\" == \"et-0/0/1!\""), 1);
	CHECK_EQ(truth("lower(\"AbC\") == \"abc\" && upper(\"AbC\") == \"ABC\""), 1);
	CHECK_EQ(truth("true && !false"), 1);
	CHECK_EQ(truth("\"\\x41\\u00e9\\t\" == \"A\xc3\xa9\t\""), 1);
	CHECK_EQ(truth("Format(\"%s-%d-%v-%%-%x\", \"a\", 12, true, 255) == \"a-12-true-%-ff\""),
		 1);
	CHECK_EQ(truth("Format(\"%d %s\", \"x\") == \"%!d(string=x) %!s(MISSING)\""), 1);
	CHECK_EQ(truth("0x10 == 16"), 1);
}

TEST(short_circuit_stops_setters)
{
	struct classify_exporter_out out = {0};
	CHECK_EQ(ex("false && ClassifySite(\"a\")", "", "x", &out), 0);
	CHECK_STR(out.site, "");
	CHECK_EQ(ex("true || ClassifySite(\"a\")", "", "x", &out), 1);
	CHECK_STR(out.site, "");
}

TEST(division_by_zero_is_a_run_time_error)
{
	struct classify_rule *r =
	    compile(CLASSIFY_INTERFACE, "Interface.Speed / Interface.VLAN > 1");
	struct classify_exporter_in exp = {.ip = "", .name = ""};
	struct classify_interface_in in = {.speed = 10};
	struct classify_interface_out out = {0};
	struct error err = {{0}};
	REQUIRE(r);
	CHECK(classify_eval_interface(r, &exp, &in, &out, &err) < 0);
	CHECK(strstr(err.text, "division by zero") != NULL);
	classify_rule_free(r);
}

TEST(rule_lists_stop_when_complete)
{
	struct classify_rule *rules[3] = {
	    compile(CLASSIFY_EXPORTER, "ClassifyGroup(\"g\") && ClassifyRole(\"r\")"),
	    compile(CLASSIFY_EXPORTER,
		    "ClassifySite(\"s\") && ClassifyRegion(\"re\") && ClassifyTenant(\"t\")"),
	    compile(CLASSIFY_EXPORTER, "ClassifySite(\"never\") && Reject()"),
	};
	struct classify_exporter_in in = {.ip = "192.0.2.1", .name = "x"};
	struct classify_exporter_out out = {0};
	uint64_t errors = 0;
	classify_exporter_run(rules, 3, &in, &out, &errors);
	CHECK_STR(out.site, "s");
	CHECK_EQ(out.reject, 0); /* third rule not run: everything was set */
	CHECK_EQ(errors, 0);

	struct classify_rule *irules[2] = {
	    compile(CLASSIFY_INTERFACE, "Interface.Speed / Interface.Index > 0"),
	    compile(CLASSIFY_INTERFACE, "ClassifyExternal()"),
	};
	struct classify_interface_in iin = {.index = 0, .speed = 1};
	struct classify_interface_out iout = {0};
	classify_interface_run(irules, 2, &in, &iin, &iout, &errors);
	CHECK_EQ(errors, 1); /* a failing rule stops the list, counted */
	CHECK_EQ(iout.boundary, FLOW_BOUNDARY_UNDEFINED);
	for (int i = 0; i < 3; i++)
		classify_rule_free(rules[i]);
	for (int i = 0; i < 2; i++)
		classify_rule_free(irules[i]);
}

TEST(uses_vlan)
{
	struct classify_rule *a =
	    compile(CLASSIFY_INTERFACE, "Interface.VLAN > 100 && ClassifyInternal()");
	struct classify_rule *b = compile(CLASSIFY_INTERFACE, "ClassifyInternal()");
	REQUIRE(a && b);
	CHECK_EQ(classify_rule_uses_vlan(a), 1);
	CHECK_EQ(classify_rule_uses_vlan(b), 0);
	classify_rule_free(a);
	classify_rule_free(b);
}

TEST(normalize)
{
	char out[16];
	classify_normalize("Hello World_1.2+3-4!", 20, out, sizeof(out));
	CHECK_STR(out, "helloworld1.2+3");
}

TEST(errors_name_column_and_expectation)
{
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Nam == \"x\"",
		  "column 1: unknown name Exporter.Nam");
	CHECK_ERR(CLASSIFY_EXPORTER, "Interface.Name == \"x\"",
		  "column 1: Interface.Name is only for interface-classifiers");
	CHECK_ERR(CLASSIFY_EXPORTER, "ClassifyProvider(\"x\")",
		  "column 1: ClassifyProvider is only for interface-classifiers");
	CHECK_ERR(CLASSIFY_INTERFACE, "ClassifyRegion(\"x\")",
		  "column 1: ClassifyRegion is only for exporter-classifiers");
	CHECK_ERR(CLASSIFY_EXPORTER, "Foo(1)", "column 1: unknown function Foo");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name", "expected a boolean expression");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name == 3",
		  "column 15: == expects two values of the same type, found a string on the left "
		  "and a number on the right");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name && true", "column 15: && expects booleans");
	CHECK_ERR(CLASSIFY_INTERFACE, "Interface.Speed startsWith \"1\"",
		  "startsWith expects strings");
	CHECK_ERR(CLASSIFY_INTERFACE, "Interface.Speed in [\"a\"]",
		  "in expects a value then an array");
	CHECK_ERR(CLASSIFY_INTERFACE, "Interface.Speed in [1, \"a\"]",
		  "column 24: expected a number like the array's first element, found a string");
	CHECK_ERR(CLASSIFY_EXPORTER, "ClassifySite(1)",
		  "column 14: argument 1 of ClassifySite: expected a string, found a number");
	CHECK_ERR(CLASSIFY_EXPORTER, "ClassifySite()", "ClassifySite takes 1 argument, found 0");
	CHECK_ERR(CLASSIFY_EXPORTER, "ClassifySiteRegex(Exporter.Name, Exporter.Name, \"$1\")",
		  "column 34: argument 2 of ClassifySiteRegex: expected a string literal");
	CHECK_ERR(CLASSIFY_EXPORTER, "ClassifySiteRegex(Exporter.Name, \"(\", \"$1\")",
		  "column 34: invalid regular expression \"(\"");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name matches \"[\"", "invalid regular expression");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name matches Exporter.IP",
		  "matches expects a string literal");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name == \"x", "column 18: string not terminated");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name == \"\\d\"", "column 19: invalid escape \\d");
	CHECK_ERR(CLASSIFY_EXPORTER, "Exporter.Name = \"x\"",
		  "column 15: unexpected character '='");
	CHECK_ERR(CLASSIFY_EXPORTER, "(true", "column 6: expected ')', found the end of the rule");
	CHECK_ERR(CLASSIFY_EXPORTER, "true true", "column 6: expected an operator, found 'true'");
	CHECK_ERR(CLASSIFY_EXPORTER, "Format()", "Format needs a format string");
	CHECK_ERR(CLASSIFY_EXPORTER, "!\"x\"", "column 1: ! expects a boolean, found a string");
	CHECK_ERR(CLASSIFY_EXPORTER, "", "column 1: expected a value, found the end of the rule");
	CHECK_ERR(CLASSIFY_EXPORTER, "1.5 > 1", "column 1: expected an integer number");
	CHECK_ERR(CLASSIFY_EXPORTER, "ClassifySite(\"a\",)", "expected a value, found ')'");
}
