// SPDX-License-Identifier: AGPL-3.0-or-later
/* The SNMP metadata provider (Akvorado's `type: snmp`): net-snmp sessions in
 * asynchronous mode, one per agent, all driven by the refresher thread, so a
 * thousand agents are asked in parallel and one that never answers delays
 * nobody. Per agent: one GET in flight carrying sysName.0 and ifName, ifDescr,
 * ifAlias, ifHighSpeed of up to BATCH ifIndex (numeric OIDs: no MIB files);
 * v2c communities tried in turn, or a v3 user; a breaker stops asking an agent
 * after consecutive failures for a while. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "../common/addr.h"
#include "../common/clock.h"
#include "enrich_internal.h"

#define BATCH		 8 /* ifIndex per GET: 1 + 4 * 8 varbinds */
#define BREAKER_FAILURES 3 /* consecutive failures that open the breaker */
#define BREAKER_OPEN_MS	 60000

struct snmp_cred {
	char **communities; /* v2c when set */
	size_t ncommunities;
	char *user, *auth_pass, *priv_pass, *context;
	const oid *auth_proto;
	size_t auth_proto_len;
	const oid *priv_proto;
	size_t priv_proto_len;
};

struct agent {
	struct agent *next;
	struct snmp_poller *p;
	struct in6_addr exporter;
	char peer[96];
	const struct snmp_cred *cred;
	size_t community; /* the one in use */
	void *sess;
	uint32_t *queue; /* ifIndex waiting */
	size_t nqueue, capq;
	uint32_t inflight[BATCH];
	size_t ninflight;
	int busy;
	unsigned failures;
	uint64_t breaker_until_ms;
};

struct snmp_poller {
	snmp_answer_fn fn;
	void *ctx;
	unsigned retries;
	uint64_t timeout_ms;
	struct lpm cred_map;
	struct snmp_cred *creds;
	size_t ncreds;
	struct lpm port_map;
	uint64_t *ports;
	size_t nports;
	struct {
		struct in6_addr exporter, agent;
	} * agents_map;
	size_t nagents_map;
	struct agent *agents;
	size_t pending;
	struct snmp_poller_stats stats;
	/* One socket per agent: select()'s fd_set stops at FD_SETSIZE (1024),
	 * net-snmp's large set grows with the highest descriptor. */
	netsnmp_large_fd_set fds;
};

static const oid OID_SYSNAME[] = {1, 3, 6, 1, 2, 1, 1, 5, 0};
static const oid OID_IFDESCR[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 2};
static const oid OID_IFNAME[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1};
static const oid OID_IFALIAS[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18};
static const oid OID_IFHIGHSPEED[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15};

static pthread_once_t snmp_once = PTHREAD_ONCE_INIT;

/* net-snmp is configured for a library: no MIB files (Debian ships none),
 * no configuration or persistent files read or written. */
static void snmp_library_init(void)
{
	setenv("MIBS", "", 0);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_CONFIG_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
	init_snmp("weir");
	/* One socket per agent polled: thousands of exporters need more
	 * descriptors than the usual soft limit of 1024; take what the hard
	 * limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- configuration ---- */

static int node_error(struct error *err, const char *file, const struct config_node *n,
		      const char *path, const char *what)
{
	struct config_error ce;
	config_error_set(&ce, file, n->line, path, "%s", what);
	return error_set(err, -EINVAL, "%s", ce.text);
}

static int add_string(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s ? s : "");
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int parse_communities(struct snmp_cred *c, const struct config_node *n, const char *file,
			     const char *path, struct error *err)
{
	if (n->type == CONFIG_NODE_SCALAR)
		return add_string(&c->communities, &c->ncommunities, n->value) < 0
			   ? error_set(err, -ENOMEM, "out of memory")
			   : 0;
	if (n->type != CONFIG_NODE_SEQ)
		return node_error(err, file, n, path, "expected a community or a list of them");
	for (size_t i = 0; i < n->nchildren; i++) {
		if (n->children[i]->type != CONFIG_NODE_SCALAR)
			return node_error(err, file, n->children[i], path, "expected a community");
		if (add_string(&c->communities, &c->ncommunities, n->children[i]->value) < 0)
			return error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static const struct {
	const char *name;
	const oid *proto;
	size_t len;
} auth_protos[] = {
    {"md5", usmHMACMD5AuthProtocol, USM_AUTH_PROTO_MD5_LEN},
    {"sha", usmHMACSHA1AuthProtocol, USM_AUTH_PROTO_SHA_LEN},
    {"sha224", usmHMAC128SHA224AuthProtocol, 10},
    {"sha256", usmHMAC192SHA256AuthProtocol, 10},
    {"sha384", usmHMAC256SHA384AuthProtocol, 10},
    {"sha512", usmHMAC384SHA512AuthProtocol, 10},
};

static const struct {
	const char *name;
	const oid *proto;
	size_t len;
} priv_protos[] = {
    {"des", usmDESPrivProtocol, USM_PRIV_PROTO_DES_LEN},
    {"aes", usmAESPrivProtocol, USM_PRIV_PROTO_AES_LEN},
#ifdef NETSNMP_DRAFT_BLUMENTHAL_AES_04
    {"aes192", usmAES192PrivProtocol, 9},
    {"aes256", usmAES256PrivProtocol, 9},
    {"aes192c", usmAES192CiscoPrivProtocol, 11},
    {"aes256c", usmAES256CiscoPrivProtocol, 11},
#endif
};

/* "SHA-256", "sha256", "SHA256" are the same. */
static void squash(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (; *in && o + 1 < size; in++)
		if (*in != '-' && *in != '_')
			out[o++] = (char)(*in >= 'A' && *in <= 'Z' ? *in - 'A' + 'a' : *in);
	out[o] = '\0';
}

static int cred_item(const struct config_node *n, const char *file, const char *path, void *ctx,
		     uint32_t *index, struct error *err)
{
	struct snmp_poller *p = ctx;
	struct snmp_cred *c;
	char sub[300];

	c = realloc(p->creds, (p->ncreds + 1) * sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "out of memory");
	p->creds = c;
	c = &p->creds[p->ncreds];
	memset(c, 0, sizeof(*c));
	*index = (uint32_t)p->ncreds++;
	if (n->type != CONFIG_NODE_MAP) /* a bare community or list: v2c */
		return parse_communities(c, n, file, path, err);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct config_node *k = n->children[i];
		char **slot = NULL;
		snprintf(sub, sizeof(sub), "%s.%s", path, k->key);
		if (!strcmp(k->key, "communities")) {
			if (parse_communities(c, k, file, sub, err) < 0)
				return -EINVAL;
			continue;
		}
		if (k->type != CONFIG_NODE_SCALAR)
			return node_error(err, file, k, sub, "expected a scalar");
		const char *v = k->value ? k->value : "";
		char sq[32];
		squash(v, sq, sizeof(sq));
		if (!strcmp(k->key, "user-name"))
			slot = &c->user;
		else if (!strcmp(k->key, "authentication-passphrase"))
			slot = &c->auth_pass;
		else if (!strcmp(k->key, "privacy-passphrase"))
			slot = &c->priv_pass;
		else if (!strcmp(k->key, "context-name"))
			slot = &c->context;
		else if (!strcmp(k->key, "authentication-protocol")) {
			size_t j;
			for (j = 0; j < sizeof(auth_protos) / sizeof(auth_protos[0]); j++)
				if (!strcmp(sq, auth_protos[j].name))
					break;
			if (!strcmp(sq, "none") || !*sq)
				continue;
			if (j == sizeof(auth_protos) / sizeof(auth_protos[0]))
				return node_error(
				    err, file, k, sub,
				    "expected MD5, SHA, SHA224, SHA256, SHA384 or SHA512");
			c->auth_proto = auth_protos[j].proto;
			c->auth_proto_len = auth_protos[j].len;
			continue;
		} else if (!strcmp(k->key, "privacy-protocol")) {
			size_t j;
			for (j = 0; j < sizeof(priv_protos) / sizeof(priv_protos[0]); j++)
				if (!strcmp(sq, priv_protos[j].name))
					break;
			if (!strcmp(sq, "none") || !*sq)
				continue;
			if (j == sizeof(priv_protos) / sizeof(priv_protos[0]))
				return node_error(err, file, k, sub,
						  "expected DES, AES, AES192, AES256, AES192C or "
						  "AES256C");
			c->priv_proto = priv_protos[j].proto;
			c->priv_proto_len = priv_protos[j].len;
			continue;
		} else {
			return node_error(err, file, k, sub,
					  "unknown key (expected communities, user-name, "
					  "authentication-protocol, authentication-passphrase, "
					  "privacy-protocol, privacy-passphrase or context-name)");
		}
		free(*slot);
		*slot = strdup(v);
		if (!*slot)
			return error_set(err, -ENOMEM, "out of memory");
	}
	if (c->ncommunities && c->user)
		return node_error(err, file, n, path,
				  "communities (v2c) or user-name (v3), not both");
	if (!c->ncommunities && !c->user)
		return node_error(err, file, n, path,
				  "expected communities (v2c) or user-name (v3)");
	if (c->priv_proto && !c->auth_proto)
		return node_error(err, file, n, path,
				  "privacy-protocol needs authentication-protocol");
	if ((c->auth_proto && !c->auth_pass) || (c->priv_proto && !c->priv_pass))
		return node_error(err, file, n, path, "a protocol needs its passphrase");
	return 0;
}

static int cred_is_value(const struct config_node *n)
{
	/* {communities: ...} or {user-name: ...}: one set of credentials. */
	return config_node_get(n, "communities") || config_node_get(n, "user-name");
}

static int port_item(const struct config_node *n, const char *file, const char *path, void *ctx,
		     uint32_t *index, struct error *err)
{
	struct snmp_poller *p = ctx;
	char *end;

	if (n->type != CONFIG_NODE_SCALAR || !n->value)
		return node_error(err, file, n, path, "expected a port");
	unsigned long v = strtoul(n->value, &end, 10);
	if (*end || !v || v > 65535)
		return node_error(err, file, n, path, "expected a port from 1 to 65535");
	uint64_t *ports = realloc(p->ports, (p->nports + 1) * sizeof(*ports));
	if (!ports)
		return error_set(err, -ENOMEM, "out of memory");
	p->ports = ports;
	ports[p->nports] = v;
	*index = (uint32_t)p->nports++;
	return 0;
}

static int parse_agents(struct snmp_poller *p, const struct config_node *n, const char *file,
			const char *path, struct error *err)
{
	if (n->type != CONFIG_NODE_MAP)
		return node_error(err, file, n, path, "expected exporter address -> agent address");
	p->agents_map = calloc(n->nchildren + 1, sizeof(*p->agents_map));
	if (!p->agents_map)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct config_node *c = n->children[i];
		if (addr_from_text(&p->agents_map[i].exporter, c->key) < 0 ||
		    c->type != CONFIG_NODE_SCALAR || !c->value ||
		    addr_from_text(&p->agents_map[i].agent, c->value) < 0)
			return node_error(err, file, c, path,
					  "expected an exporter address -> an agent address");
		p->nagents_map++;
	}
	return 0;
}

int snmp_poller_new(const struct config_node *item, const char *file, const char *path,
		    snmp_answer_fn fn, void *ctx, struct snmp_poller **out, struct error *err)
{
	struct snmp_poller *p = calloc(1, sizeof(*p));
	const struct config_node *creds = NULL, *communities = NULL, *def = NULL;
	char sub[300];
	int r = 0;

	*out = NULL;
	if (!p)
		return error_set(err, -ENOMEM, "out of memory");
	p->fn = fn;
	p->ctx = ctx;
	p->retries = 1;
	p->timeout_ms = 1000;
	lpm_init(&p->cred_map);
	lpm_init(&p->port_map);
	netsnmp_large_fd_set_init(&p->fds, FD_SETSIZE);
	for (size_t i = 0; i < item->nchildren; i++) {
		const struct config_node *c = item->children[i];
		snprintf(sub, sizeof(sub), "%s.%s", path, c->key);
		if (!strcmp(c->key, "type"))
			continue;
		if (!strcmp(c->key, "poller-retries") || !strcmp(c->key, "poller-timeout")) {
			uint64_t v;
			char *end;
			if (c->type != CONFIG_NODE_SCALAR || !c->value) {
				r = node_error(err, file, c, sub, "expected a scalar");
				goto fail;
			}
			if (!strcmp(c->key, "poller-retries")) {
				v = strtoull(c->value, &end, 10);
				if (*end || v > 10) {
					r = node_error(err, file, c, sub, "expected 0 to 10");
					goto fail;
				}
				p->retries = (unsigned)v;
			} else if (config_parse_duration_ms(c->value, &v) < 0 || v < 100) {
				r = node_error(err, file, c, sub,
					       "expected a duration of 100ms or more");
				goto fail;
			} else {
				p->timeout_ms = v;
			}
		} else if (!strcmp(c->key, "credentials") ||
			   !strcmp(c->key, "security-parameters")) {
			creds = c;
		} else if (!strcmp(c->key, "communities")) {
			communities = c;
		} else if (!strcmp(c->key, "default-community")) {
			def = c;
		} else if (!strcmp(c->key, "ports")) {
			r = subnet_map_parse(&p->port_map, c, file, sub, NULL, port_item, p, err);
			if (r < 0)
				goto fail;
		} else if (!strcmp(c->key, "agents")) {
			r = parse_agents(p, c, file, sub, err);
			if (r < 0)
				goto fail;
		} else {
			r = node_error(err, file, c, sub,
				       "unknown key (expected poller-retries, poller-timeout, "
				       "credentials, communities, agents or ports)");
			goto fail;
		}
	}
	/* Akvorado's default: community "public" everywhere; the older keys
	 * (default-community, communities) merge into credentials. */
	if (def) {
		snprintf(sub, sizeof(sub), "%s.default-community", path);
		r = subnet_map_parse(&p->cred_map, def, file, sub, cred_is_value, cred_item, p,
				     err);
		if (r < 0)
			goto fail;
	}
	if (communities) {
		snprintf(sub, sizeof(sub), "%s.communities", path);
		r = subnet_map_parse(&p->cred_map, communities, file, sub, cred_is_value, cred_item,
				     p, err);
		if (r < 0)
			goto fail;
	}
	if (creds) {
		snprintf(sub, sizeof(sub), "%s.credentials", path);
		r = subnet_map_parse(&p->cred_map, creds, file, sub, cred_is_value, cred_item, p,
				     err);
		if (r < 0)
			goto fail;
	}
	struct in6_addr any = IN6ADDR_ANY_INIT;
	if (lpm_get(&p->cred_map, &any, 0) == LPM_NONE) {
		struct snmp_cred *c = realloc(p->creds, (p->ncreds + 1) * sizeof(*c));
		if (!c) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		p->creds = c;
		memset(&c[p->ncreds], 0, sizeof(*c));
		if (add_string(&c[p->ncreds].communities, &c[p->ncreds].ncommunities, "public") <
			0 ||
		    lpm_insert(&p->cred_map, &any, 0, (uint32_t)p->ncreds) < 0) {
			p->ncreds++;
			r = error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		p->ncreds++;
	}
	pthread_once(&snmp_once, snmp_library_init);
	*out = p;
	return 0;
fail:
	snmp_poller_free(p);
	return r;
}

static void agent_close(struct agent *a)
{
	if (a->sess)
		snmp_sess_close(a->sess);
	a->sess = NULL;
}

void snmp_poller_free(struct snmp_poller *p)
{
	if (!p)
		return;
	while (p->agents) {
		struct agent *a = p->agents;
		p->agents = a->next;
		agent_close(a);
		free(a->queue);
		free(a);
	}
	for (size_t i = 0; i < p->ncreds; i++) {
		struct snmp_cred *c = &p->creds[i];
		for (size_t k = 0; k < c->ncommunities; k++)
			free(c->communities[k]);
		free(c->communities);
		free(c->user);
		free(c->auth_pass);
		free(c->priv_pass);
		free(c->context);
	}
	free(p->creds);
	free(p->ports);
	free(p->agents_map);
	lpm_fini(&p->cred_map);
	lpm_fini(&p->port_map);
	netsnmp_large_fd_set_cleanup(&p->fds);
	free(p);
}

/* ---- polling ---- */

static struct agent *agent_get(struct snmp_poller *p, const struct in6_addr *exporter)
{
	struct agent *a;
	struct in6_addr target = *exporter;
	char ip[ADDR_TEXT_MAX];

	for (a = p->agents; a; a = a->next)
		if (!memcmp(&a->exporter, exporter, sizeof(*exporter)))
			return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->exporter = *exporter;
	a->p = p;
	for (size_t i = 0; i < p->nagents_map; i++)
		if (!memcmp(&p->agents_map[i].exporter, exporter, sizeof(*exporter)))
			target = p->agents_map[i].agent;
	uint32_t ci = lpm_lookup(&p->cred_map, exporter);
	a->cred = &p->creds[ci == LPM_NONE ? 0 : ci];
	uint32_t pi = p->port_map.root ? lpm_lookup(&p->port_map, exporter) : LPM_NONE;
	unsigned port = pi == LPM_NONE ? 161 : (unsigned)p->ports[pi];
	addr_to_text(&target, ip, sizeof(ip));
	if (addr_is_ipv4(&target))
		snprintf(a->peer, sizeof(a->peer), "udp:%s:%u", ip, port);
	else
		snprintf(a->peer, sizeof(a->peer), "udp6:[%s]:%u", ip, port);
	a->next = p->agents;
	p->agents = a;
	return a;
}

static int agent_open(struct snmp_poller *p, struct agent *a)
{
	netsnmp_session s;
	const struct snmp_cred *c = a->cred;

	snmp_sess_init(&s);
	s.peername = a->peer;
	s.timeout = (long)p->timeout_ms * 1000;
	s.retries = (int)p->retries;
	if (c->ncommunities) {
		s.version = SNMP_VERSION_2c;
		s.community = (u_char *)c->communities[a->community % c->ncommunities];
		s.community_len = strlen((char *)s.community);
	} else {
		s.version = SNMP_VERSION_3;
		s.securityName = c->user;
		s.securityNameLen = strlen(c->user);
		s.securityLevel = SNMP_SEC_LEVEL_NOAUTH;
		if (c->context) {
			s.contextName = c->context;
			s.contextNameLen = strlen(c->context);
		}
		if (c->auth_proto) {
			s.securityLevel = SNMP_SEC_LEVEL_AUTHNOPRIV;
			s.securityAuthProto = (oid *)c->auth_proto;
			s.securityAuthProtoLen = c->auth_proto_len;
			s.securityAuthKeyLen = USM_AUTH_KU_LEN;
			if (generate_Ku(s.securityAuthProto, (u_int)s.securityAuthProtoLen,
					(u_char *)c->auth_pass, strlen(c->auth_pass),
					s.securityAuthKey,
					&s.securityAuthKeyLen) != SNMPERR_SUCCESS)
				return -EINVAL;
		}
		if (c->priv_proto) {
			s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
			s.securityPrivProto = (oid *)c->priv_proto;
			s.securityPrivProtoLen = c->priv_proto_len;
			s.securityPrivKeyLen = USM_PRIV_KU_LEN;
			if (generate_Ku(s.securityAuthProto, (u_int)s.securityAuthProtoLen,
					(u_char *)c->priv_pass, strlen(c->priv_pass),
					s.securityPrivKey,
					&s.securityPrivKeyLen) != SNMPERR_SUCCESS)
				return -EINVAL;
		}
		/* No synchronous engine ID probe here (it would block this thread
		 * on an agent that does not answer): the first request learns it
		 * from the agent's report. */
		s.flags |= SNMP_FLAGS_DONT_PROBE;
	}
	a->sess = snmp_sess_open(&s);
	return a->sess ? 0 : -EIO;
}

static void answer_failed(struct snmp_poller *p, struct agent *a, const uint32_t *ifs, size_t n)
{
	struct snmp_answer ans;

	for (size_t i = 0; i < n; i++) {
		memset(&ans, 0, sizeof(ans));
		ans.exporter = a->exporter;
		ans.ifindex = ifs[i];
		p->pending--;
		p->fn(p->ctx, &ans);
	}
}

static int send_batch(struct snmp_poller *p, struct agent *a);

static void copy_octets(char *dst, size_t size, const netsnmp_variable_list *v)
{
	size_t n = v->val_len < size - 1 ? v->val_len : size - 1;
	if (v->type != ASN_OCTET_STR) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, v->val.string, n);
	dst[n] = '\0';
}

static int oid_under(const netsnmp_variable_list *v, const oid *base, size_t len)
{
	return v->name_length == len + 1 && !memcmp(v->name, base, len * sizeof(oid));
}

static int on_response(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu, void *magic)
{
	struct agent *a = magic;
	struct snmp_poller *p = a->p;
	(void)sess;
	(void)reqid;

	/* A retry was sent (poller-retries): the request is still in flight. */
	if (op == NETSNMP_CALLBACK_OP_RESEND) {
		p->stats.retries++;
		return 1;
	}
	a->busy = 0;
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu ||
	    pdu->errstat != SNMP_ERR_NOERROR) {
		if (op == NETSNMP_CALLBACK_OP_TIMED_OUT)
			p->stats.timeouts++;
		if (op == NETSNMP_CALLBACK_OP_TIMED_OUT && a->cred->ncommunities &&
		    a->community + 1 < a->cred->ncommunities) {
			/* The next community; the session is reopened outside the
			 * callback. */
			a->community++;
			memmove(a->queue + a->ninflight, a->queue, a->nqueue * sizeof(*a->queue));
			memcpy(a->queue, a->inflight, a->ninflight * sizeof(*a->queue));
			a->nqueue += a->ninflight;
			a->ninflight = 0;
			return 1;
		}
		if (++a->failures >= BREAKER_FAILURES)
			a->breaker_until_ms = clock_mono_ms() + BREAKER_OPEN_MS;
		a->community = 0;
		answer_failed(p, a, a->inflight, a->ninflight);
		a->ninflight = 0;
		return 1;
	}
	a->failures = 0;
	struct snmp_answer ans[BATCH];
	char sysname[256] = "";
	memset(ans, 0, sizeof(ans));
	for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
		if (v->name_length == 9 && !memcmp(v->name, OID_SYSNAME, sizeof(OID_SYSNAME))) {
			copy_octets(sysname, sizeof(sysname), v);
			continue;
		}
		uint32_t idx = (uint32_t)v->name[v->name_length - 1];
		size_t k;
		for (k = 0; k < a->ninflight; k++)
			if (a->inflight[k] == idx)
				break;
		if (k == a->ninflight)
			continue;
		if (oid_under(v, OID_IFNAME, 11))
			copy_octets(ans[k].ifname, sizeof(ans[k].ifname), v);
		else if (oid_under(v, OID_IFALIAS, 11))
			copy_octets(ans[k].ifalias, sizeof(ans[k].ifalias), v);
		else if (oid_under(v, OID_IFDESCR, 10))
			copy_octets(ans[k].ifdescr, sizeof(ans[k].ifdescr), v);
		else if (oid_under(v, OID_IFHIGHSPEED, 11) &&
			 (v->type == ASN_GAUGE || v->type == ASN_INTEGER || v->type == ASN_COUNTER))
			ans[k].speed = (uint32_t)*v->val.integer;
	}
	for (size_t k = 0; k < a->ninflight; k++) {
		ans[k].exporter = a->exporter;
		ans[k].ifindex = a->inflight[k];
		ans[k].ok = 1;
		memcpy(ans[k].sysname, sysname, sizeof(sysname));
		p->pending--;
		p->fn(p->ctx, &ans[k]);
	}
	a->ninflight = 0;
	return 1;
}

static int send_batch(struct snmp_poller *p, struct agent *a)
{
	netsnmp_pdu *pdu;
	size_t n = a->nqueue < BATCH ? a->nqueue : BATCH;
	oid name[MAX_OID_LEN];

	if (!a->sess && agent_open(p, a) < 0)
		return -EIO;
	pdu = snmp_pdu_create(SNMP_MSG_GET);
	if (!pdu)
		return -ENOMEM;
	snmp_add_null_var(pdu, OID_SYSNAME, 9);
	for (size_t i = 0; i < n; i++) {
		uint32_t idx = a->queue[i];
		const struct {
			const oid *base;
			size_t len;
		} cols[] = {
		    {OID_IFNAME, 11}, {OID_IFDESCR, 10}, {OID_IFALIAS, 11}, {OID_IFHIGHSPEED, 11}};
		for (size_t c = 0; c < 4; c++) {
			memcpy(name, cols[c].base, cols[c].len * sizeof(oid));
			name[cols[c].len] = idx;
			snmp_add_null_var(pdu, name, cols[c].len + 1);
		}
		a->inflight[i] = idx;
	}
	a->ninflight = n;
	memmove(a->queue, a->queue + n, (a->nqueue - n) * sizeof(*a->queue));
	a->nqueue -= n;
	if (!snmp_sess_async_send(a->sess, pdu, on_response, a)) {
		snmp_free_pdu(pdu);
		agent_close(a);
		return -EIO;
	}
	a->busy = 1;
	p->stats.requests++;
	return 0;
}

void snmp_poller_request(struct snmp_poller *p, const struct in6_addr *exporter, uint32_t ifindex)
{
	struct agent *a = agent_get(p, exporter);

	if (!a)
		goto fail;
	if (a->breaker_until_ms && clock_mono_ms() < a->breaker_until_ms) {
		struct snmp_answer ans;
		memset(&ans, 0, sizeof(ans));
		ans.exporter = *exporter;
		ans.ifindex = ifindex;
		p->stats.breaker_open++;
		p->fn(p->ctx, &ans);
		return;
	}
	for (size_t i = 0; i < a->nqueue; i++)
		if (a->queue[i] == ifindex)
			return;
	for (size_t i = 0; i < a->ninflight; i++)
		if (a->inflight[i] == ifindex)
			return;
	if (a->nqueue == a->capq) {
		size_t cap = a->capq ? a->capq * 2 : 16;
		uint32_t *q = realloc(a->queue, cap * sizeof(*q));
		if (!q)
			goto fail;
		a->queue = q;
		a->capq = cap;
	}
	a->queue[a->nqueue++] = ifindex;
	p->pending++;
	return;
fail : {
	struct snmp_answer ans;
	memset(&ans, 0, sizeof(ans));
	ans.exporter = *exporter;
	ans.ifindex = ifindex;
	p->fn(p->ctx, &ans);
}
}

void snmp_poller_run(struct snmp_poller *p, int timeout_ms)
{
	int maxfd = 0, any = 0;
	uint64_t now = clock_mono_ms();

	for (struct agent *a = p->agents; a; a = a->next) {
		if (a->busy || !a->nqueue)
			continue;
		if (a->breaker_until_ms && now < a->breaker_until_ms) {
			uint32_t *q = a->queue;
			size_t n = a->nqueue;
			a->nqueue = 0;
			p->stats.breaker_open += n;
			answer_failed(p, a, q, n);
			continue;
		}
		if (a->sess && a->community && a->cred->ncommunities &&
		    a->ninflight == 0) /* community changed: reopen */
			agent_close(a);
		if (send_batch(p, a) < 0) {
			uint32_t *q = a->queue;
			size_t n = a->nqueue;
			a->nqueue = 0;
			answer_failed(p, a, a->inflight, a->ninflight);
			a->ninflight = 0;
			answer_failed(p, a, q, n);
		}
	}
	NETSNMP_LARGE_FD_ZERO(&p->fds);
	for (struct agent *a = p->agents; a; a = a->next) {
		if (!a->sess || !a->busy)
			continue;
		struct timeval tv = {0, 0};
		int block = 1;
		snmp_sess_select_info2(a->sess, &maxfd, &p->fds, &tv, &block);
		any = 1;
	}
	struct timeval tv = {0, timeout_ms * 1000};
	if (!any) {
		if (timeout_ms > 0)
			select(0, NULL, NULL, NULL, &tv);
		return;
	}
	int n = netsnmp_large_fd_set_select(maxfd, &p->fds, NULL, NULL, &tv);
	for (struct agent *a = p->agents; a; a = a->next) {
		if (!a->sess || !a->busy)
			continue;
		if (n > 0)
			snmp_sess_read2(a->sess, &p->fds);
		if (a->busy)
			snmp_sess_timeout(a->sess);
	}
}

size_t snmp_poller_pending(const struct snmp_poller *p)
{
	return p->pending;
}

void snmp_poller_stats(const struct snmp_poller *p, struct snmp_poller_stats *s)
{
	*s = p->stats;
}
