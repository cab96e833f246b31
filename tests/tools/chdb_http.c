// SPDX-License-Identifier: AGPL-3.0-or-later
/* The part of ClickHouse's HTTP interface weir's client and writer use, in
 * front of the embedded engine (user/store/chdb.c): so that the migrations,
 * the writer and `weir bench store` run on it unchanged, before the store
 * has a transport of its own. For measurements and experiments.
 *
 *   chdb_http DIR [--port N] [--via stream|memfd] [--max-memory BYTES]
 *             [--record RECDIR] [--set NAME=VALUE]... [-v]
 *   chdb_http DIR --replay RECDIR [--via stream|memfd] [--max-memory BYTES]
 *
 * --record writes every request into RECDIR, in order: NNNNNN.sql (the
 * database on the first line, then the statement; an insert's without its
 * FORMAT) and, for an insert, NNNNNN.native (its body). --replay runs such
 * a recording on one connection, the inserts timed, and exits: the same
 * batches through either way of inserting, without HTTP in between.
 *
 * Prints "http://127.0.0.1:PORT", serves until SIGTERM/SIGINT (or until its
 * stdin closes when stdin is a pipe), then prints on stderr what the
 * engine's insert call took: batches, rows, bytes, seconds, rows/s, and the
 * process's CPU time during those calls. One thread and one engine
 * connection per HTTP connection; POST / with ?database= and either the SQL
 * as body or ?query=INSERT ... FORMAT Native with the block as body. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cpu_time.h"
#include "store/chdb.h"

static struct store_chdb *db;
static enum store_chdb_insert_via via = STORE_CHDB_INSERT_STREAM;
static _Atomic uint64_t n_batches, n_rows, n_bytes, n_ns, n_cpu_us;
static const char *record_dir;
static pthread_mutex_t record_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned record_seq;
static int verbose;
static const char *sets[16]; /* --set NAME=VALUE: SET on every connection */
static unsigned nsets;

static int apply_sets(struct store_chdb_conn *c, struct error *err)
{
	for (unsigned i = 0; i < nsets; i++) {
		char sql[300];
		int r;

		snprintf(sql, sizeof(sql), "SET %s", sets[i]);
		r = store_chdb_exec(c, sql, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: chdb_http DIR [--port N] [--via stream|memfd] "
			"[--max-memory BYTES] [--record RECDIR | --replay RECDIR]\n");
	exit(2);
}

/* %XX and '+' decoded in place. */
static void url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && s[1] && s[2]) {
			char hex[3] = {s[1], s[2], 0};
			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* The value of parameter `name` in the query string `qs` (decoded, malloc'd). */
static char *param(const char *qs, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = qs; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (!strncmp(p, name, n) && p[n] == '=') {
			size_t len = strcspn(p + n + 1, "&");
			char *v = strndup(p + n + 1, len);
			if (v)
				url_decode(v);
			return v;
		}
	}
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int respond(int fd, int status, const char *body, size_t len)
{
	char head[160];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: keep-alive\r\n\r\n",
			 status, status == 200 ? "OK" : "Internal Server Error", len);

	if (write_all(fd, head, (size_t)n) < 0)
		return -1;
	return write_all(fd, body, len);
}

/* Rows of the first Native block (columns, rows: two varints). */
static uint64_t block_rows(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	unsigned shift = 0, field = 0;

	for (size_t i = 0; i < n && field < 2; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << shift;
		shift += 7;
		if (!(p[i] & 0x80)) {
			if (field++ == 1)
				return v;
			v = 0;
			shift = 0;
		}
	}
	return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(p, 1, n, f) != n)
		fprintf(stderr, "chdb_http: cannot write %s\n", path);
	if (f)
		fclose(f);
}

/* One request into the recording (--record). */
static void record(const char *database, const char *sql, const void *body, size_t len)
{
	char path[4096], *text = NULL;
	unsigned seq;
	int n;

	if (!record_dir)
		return;
	pthread_mutex_lock(&record_mu);
	seq = record_seq++;
	n = asprintf(&text, "%s\n%s", database ? database : "", sql);
	snprintf(path, sizeof(path), "%s/%06u.sql", record_dir, seq);
	if (n > 0)
		write_file(path, text, (size_t)n);
	if (body) {
		snprintf(path, sizeof(path), "%s/%06u.native", record_dir, seq);
		write_file(path, body, len);
	}
	pthread_mutex_unlock(&record_mu);
	free(text);
}

/* Times one insert call into the totals. */
static int timed_insert(struct store_chdb_conn *c, const char *insert, const void *body, size_t len,
			struct error *err)
{
	struct iovec iov = {(void *)body, len};
	double t0 = now_s(), cpu0 = cpu_self_s(), dt;
	int r = store_chdb_insert_native(c, insert, &iov, 1, NULL, err);

	dt = now_s() - t0;
	if (verbose)
		fprintf(stderr, "chdb_http: %.40s: %llu rows, %zu bytes: %.3f s, CPU %.3f s\n",
			insert, (unsigned long long)block_rows(body, len), len, dt,
			cpu_self_s() - cpu0);
	if (r == 0) {
		n_batches++;
		n_rows += block_rows(body, len);
		n_bytes += len;
		n_ns += (uint64_t)(dt * 1e9);
		n_cpu_us += (uint64_t)((cpu_self_s() - cpu0) * 1e6);
	}
	return r;
}

struct request {
	char *head; /* request line and headers */
	char *body;
	size_t body_len;
};

/* Reads one request into *rq (buffers reused across requests). Returns 0,
 * or -1 at the end of the connection. */
static int read_request(int fd, char **buf, size_t *cap, size_t *have, struct request *rq)
{
	char *end;
	size_t head_len, need;
	const char *cl;

	for (;;) {
		end = *have ? memmem(*buf, *have, "\r\n\r\n", 4) : NULL;
		if (end)
			break;
		if (*have + 65536 > *cap) {
			*cap = *cap ? *cap * 2 : 1 << 20;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				return -1;
		}
		ssize_t r = recv(fd, *buf + *have, *cap - *have, 0);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
	head_len = (size_t)(end - *buf) + 4;
	end[2] = 0;
	cl = strcasestr(*buf, "\r\ncontent-length:");
	need = head_len + (cl ? strtoull(cl + 17, NULL, 10) : 0);
	if (need + 1 > *cap) {
		*cap = need + 1;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			return -1;
	}
	while (*have < need) {
		ssize_t r = recv(fd, *buf + *have, need - *have, 0);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
	rq->head = *buf;
	rq->body = *buf + head_len;
	rq->body_len = need - head_len;
	return 0;
}

static int serve_one(int fd, struct store_chdb_conn *c, char *current_db, size_t db_size,
		     struct request *rq)
{
	char *target = strchr(rq->head, ' '), *qs, *database, *query, *out = NULL;
	struct error err = {{0}};
	size_t out_len = 0;
	int r = 0;

	if (!target)
		return -1;
	target++;
	target[strcspn(target, " ")] = 0;
	qs = strchr(target, '?');
	database = param(qs ? qs + 1 : NULL, "database");
	query = param(qs ? qs + 1 : NULL, "query");
	if (strcmp(current_db, database ? database : "default") != 0) {
		char use[300];

		snprintf(use, sizeof(use), "USE %s", database ? database : "default");
		r = store_chdb_exec(c, use, &err);
		if (r == 0)
			snprintf(current_db, db_size, "%s", database ? database : "default");
	}
	if (r == 0 && query && rq->body_len) {
		/* an insert: the statement without its FORMAT, the body as is */
		char *f = strcasestr(query, " FORMAT Native");
		if (f) {
			*f = 0;
			record(database, query, rq->body, rq->body_len);
			r = timed_insert(c, query, rq->body, rq->body_len, &err);
		} else {
			r = error_set(&err, -EINVAL, "chdb_http: only FORMAT Native with a body");
		}
	} else if (r == 0) {
		const char *sql = query ? query : rq->body;

		rq->body[rq->body_len] = 0;
		record(database, sql, NULL, 0);
		r = store_chdb_query(c, sql, "TabSeparated", &out, &out_len, &err);
	}
	free(database);
	free(query);
	if (r < 0) {
		/* ClickHouse's own text after our prefix, as its HTTP interface says it */
		const char *t = strstr(err.text, "Code:");
		t = t ? t : err.text;
		r = respond(fd, 500, t, strlen(t));
	} else {
		r = respond(fd, 200, out ? out : "", out_len);
	}
	free(out);
	return r;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct store_chdb_conn *c = NULL;
	struct error err = {{0}};
	char *buf = NULL, current_db[256] = "default";
	size_t cap = 0, have = 0;
	struct request rq;

	if (store_chdb_conn_new(db, &c, &err) < 0) {
		fprintf(stderr, "chdb_http: %s\n", err.text);
		close(fd);
		return NULL;
	}
	store_chdb_conn_insert_via(c, via);
	if (apply_sets(c, &err) < 0)
		fprintf(stderr, "chdb_http: %s\n", err.text);
	while (read_request(fd, &buf, &cap, &have, &rq) == 0) {
		size_t used = (size_t)(rq.body - buf) + rq.body_len;

		if (serve_one(fd, c, current_db, sizeof(current_db), &rq) < 0)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	store_chdb_conn_free(c);
	close(fd);
	return NULL;
}

static void *accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t th;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		if (pthread_create(&th, NULL, serve, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(th);
	}
}

/* A whole file, NUL-terminated, into *data (malloc'd): its size, or -1. */
static long slurp(const char *path, uint8_t **data)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	long n = -1;

	*data = NULL;
	if (f && fstat(fileno(f), &st) == 0 && (*data = malloc((size_t)st.st_size + 1))) {
		if (fread(*data, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
			n = (long)st.st_size;
			(*data)[n] = 0;
		}
	}
	if (f)
		fclose(f);
	return n;
}

/* --replay: the recording's statements in order (SELECT and OPTIMIZE left
 * out: the bench's own checks), inserts timed. Returns 0 or 1. */
static int replay(const char *dir)
{
	struct store_chdb_conn *c = NULL;
	struct error err = {{0}};
	char current[256] = "", path[4096];
	int r = store_chdb_conn_new(db, &c, &err);

	if (r == 0)
		r = apply_sets(c, &err);
	if (r < 0)
		fprintf(stderr, "chdb_http: %s\n", err.text);
	for (unsigned seq = 0; r == 0; seq++) {
		uint8_t *text = NULL, *body = NULL;
		long n, len = -1;
		char *sql;

		snprintf(path, sizeof(path), "%s/%06u.sql", dir, seq);
		n = slurp(path, &text);
		if (n < 0)
			break;
		sql = strchr((char *)text, '\n');
		if (!sql) {
			free(text);
			break;
		}
		*sql++ = 0;
		if (strcmp(current, (char *)text) != 0) {
			char use[300];
			snprintf(use, sizeof(use), "USE %s", text[0] ? (char *)text : "default");
			if (store_chdb_exec(c, use, &err) == 0)
				snprintf(current, sizeof(current), "%s", (char *)text);
		}
		snprintf(path, sizeof(path), "%s/%06u.native", dir, seq);
		if (access(path, R_OK) == 0)
			len = slurp(path, &body);
		if (len >= 0)
			r = timed_insert(c, sql, body, (size_t)len, &err);
		else if (strncasecmp(sql, "SELECT", 6) != 0 && strncasecmp(sql, "OPTIMIZE", 8) != 0)
			r = store_chdb_exec(c, sql, &err);
		if (r < 0)
			fprintf(stderr, "chdb_http: replay %06u: %s\n", seq, err.text);
		free(text);
		free(body);
	}
	store_chdb_conn_free(c);
	return r < 0;
}

int main(int argc, char **argv)
{
	struct store_chdb_options opt = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	struct error err = {{0}};
	struct stat st;
	struct pollfd pfd[2];
	sigset_t mask;
	pthread_t th;
	int lfd, one = 1, sfd, watch_stdin, r = 0;
	const char *replay_dir = NULL;

	if (argc < 2 || argv[1][0] == '-')
		usage();
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			sin.sin_port = htons((uint16_t)atoi(argv[++i]));
		else if (!strcmp(argv[i], "--via") && i + 1 < argc)
			via = !strcmp(argv[++i], "memfd") ? STORE_CHDB_INSERT_MEMFD
							  : STORE_CHDB_INSERT_STREAM;
		else if (!strcmp(argv[i], "--max-memory") && i + 1 < argc)
			opt.max_memory_bytes = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 16)
			sets[nsets++] = argv[++i];
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--record") && i + 1 < argc)
			record_dir = argv[++i];
		else if (!strcmp(argv[i], "--replay") && i + 1 < argc)
			replay_dir = argv[++i];
		else
			usage();
	}
	/* signals first: the engine's threads inherit this mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	opt.insert_via = via;
	if (store_chdb_open(argv[1], &opt, &db, &err) < 0) {
		fprintf(stderr, "chdb_http: %s\n", err.text);
		return 1;
	}
	if (replay_dir) {
		r = replay(replay_dir);
		goto out;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("chdb_http: listen");
		return 1;
	}
	printf("http://127.0.0.1:%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	if (pthread_create(&th, NULL, accept_loop, (void *)(intptr_t)lfd) != 0)
		return 1;
	watch_stdin = fstat(0, &st) == 0 && S_ISFIFO(st.st_mode);
	pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = watch_stdin ? 0 : -1, .events = POLLIN};
	while (poll(pfd, 2, -1) >= 0 || errno == EINTR) {
		char b[64];
		if (pfd[0].revents)
			break;
		if (pfd[1].revents && read(0, b, sizeof(b)) <= 0)
			break;
	}
out : {
	double s = (double)n_ns / 1e9;
	fprintf(stderr,
		"chdb_http: insert via %s: %llu batches, %llu rows, %.1f MB in %.2f s inside "
		"the insert call: %.0f rows/s, %.0f MB/s; process CPU during them %.2f s "
		"(%.2f us/row)\n",
		via == STORE_CHDB_INSERT_MEMFD ? "memfd" : "stream", (unsigned long long)n_batches,
		(unsigned long long)n_rows, (double)n_bytes / 1e6, s,
		s > 0 ? (double)n_rows / s : 0, s > 0 ? (double)n_bytes / 1e6 / s : 0,
		(double)n_cpu_us / 1e6, n_rows ? (double)n_cpu_us / (double)n_rows : 0);
}
	{
		/* the engine's memory: resident now and at its peak */
		FILE *f = fopen("/proc/self/status", "r");
		char line[128];

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "VmHWM:", 6))
				fprintf(stderr, "chdb_http: %s", line);
		if (f)
			fclose(f);
	}
	/* (connections still served are closed by the last close) */
	store_chdb_close(db);
	store_chdb_shutdown();
	store_chdb_exit(r);
	return r;
}
