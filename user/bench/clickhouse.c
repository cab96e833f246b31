// SPDX-License-Identifier: AGPL-3.0-or-later
/* The one launcher of private, throw-away clickhouse-servers: the benchmarks,
 * the C tests and (through `weir bench clickhouse-server`) the shell tests and
 * `make demo` all start theirs here, so that every one is configured alike. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_internal.h"
#include "common/clock.h"
#include "common/free_port.h"

/* Freed pages stay with the server: Debian's 18.16 allocates through the
 * system jemalloc, which gives freed memory back to the kernel within
 * seconds; every insert then faults its block's pages in again (page faults
 * were about a tenth of the server's CPU under weir bench e2e). Keeping them
 * (RSS stays at its peak) is what user/store/README.md advises operators. */
#define DEFAULT_MALLOC_CONF "dirty_decay_ms:-1,muzzy_decay_ms:-1"
#define START_WAIT_MS	    30000
#define STOP_WAIT_MS	    20000

struct bench_clickhouse {
	char dir[PATH_MAX];
	char url[64];
	char compression[64];  /* "" = the server's default */
	char malloc_conf[256]; /* "" = jemalloc's defaults */
	int own_dir;	       /* made by _new: removed by _free */
	pid_t pid;	       /* the server, while it runs */
	int child;	       /* pid is this process's child: reap it */
	pid_t watch_pid;
};

/* The server binary: clickhouse-server on PATH, else Debian's multi-call
 * /usr/bin/clickhouse (run as `clickhouse server`). 0 or -ENOENT. */
static int server_binary(char *path, size_t size, int *multicall)
{
	const char *env = getenv("PATH");
	char *dirs, *save = NULL;
	int found = 0;

	*multicall = 0;
	dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	if (!dirs)
		return -ENOMEM;
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/clickhouse-server", *d ? d : ".");
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	if (found)
		return 0;
	snprintf(path, size, "/usr/bin/clickhouse");
	*multicall = 1;
	return access(path, X_OK) == 0 ? 0 : -ENOENT;
}

int bench_clickhouse_available(void)
{
	char path[PATH_MAX];
	int multicall;

	return server_binary(path, sizeof(path), &multicall) == 0;
}

static int write_file(const char *dir, const char *name, const char *text, struct error *err)
{
	char path[PATH_MAX + 32];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return error_set(err, -errno, "clickhouse: cannot write %s: %s", path,
				 strerror(errno));
	if (fputs(text, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		return error_set(err, r, "clickhouse: cannot write %s: %s", path, strerror(-r));
	return 0;
}

/* config.xml, users.xml and url of a new server on ports http and tcp.
 * Compression: zstd for every part unless "" or lz4 (the server's own). */
static int write_config(struct bench_clickhouse *ch, int http, int tcp, struct error *err)
{
	static const char *const subdirs[] = {"data", "tmp", "log", "user_files", "format_schemas"};
	const char *d = ch->dir;
	char compression[512] = "", *config = NULL, url[96];
	int r;

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", d, subdirs[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return error_set(err, -errno, "clickhouse: cannot make %s: %s", path,
					 strerror(errno));
	}
	if (ch->compression[0] && strcmp(ch->compression, "lz4"))
		snprintf(compression, sizeof(compression),
			 "<compression><case><min_part_size>0</min_part_size>"
			 "<min_part_size_ratio>0</min_part_size_ratio>"
			 "<method>%s</method></case></compression>",
			 ch->compression);
	if (asprintf(&config,
		     "<?xml version=\"1.0\"?>\n"
		     "<yandex>\n"
		     "    <logger>\n"
		     "        <level>information</level>\n"
		     "        <log>%s/log/server.log</log>\n"
		     "        <errorlog>%s/log/server.err.log</errorlog>\n"
		     "        <size>100M</size>\n"
		     "        <count>2</count>\n"
		     "        <console>0</console>\n"
		     "    </logger>\n"
		     "    <listen_host>127.0.0.1</listen_host>\n"
		     "    <http_port>%d</http_port>\n"
		     "    <tcp_port>%d</tcp_port>\n"
		     "    <max_connections>256</max_connections>\n"
		     "    <keep_alive_timeout>30</keep_alive_timeout>\n"
		     "    <max_concurrent_queries>64</max_concurrent_queries>\n"
		     "    <uncompressed_cache_size>268435456</uncompressed_cache_size>\n"
		     "    <mark_cache_size>268435456</mark_cache_size>\n"
		     "    <path>%s/data/</path>\n"
		     "    <tmp_path>%s/tmp/</tmp_path>\n"
		     "    <user_files_path>%s/user_files/</user_files_path>\n"
		     "    <format_schema_path>%s/format_schemas/</format_schema_path>\n"
		     "    <users_config>%s/users.xml</users_config>\n"
		     "    <default_profile>default</default_profile>\n"
		     "    <default_database>default</default_database>\n"
		     "    <timezone>UTC</timezone>\n"
		     "    <mlock_executable>false</mlock_executable>\n"
		     "    <builtin_dictionaries_reload_interval>3600</"
		     "builtin_dictionaries_reload_interval>\n"
		     "    <max_session_timeout>3600</max_session_timeout>\n"
		     "    <default_session_timeout>60</default_session_timeout>\n"
		     "    <dictionaries_config>%s/*_dictionary.xml</dictionaries_config>\n"
		     "    %s\n"
		     "</yandex>\n",
		     d, d, http, tcp, d, d, d, d, d, d, compression) < 0)
		return error_set(err, -ENOMEM, "clickhouse: out of memory");
	r = write_file(d, "config.xml", config, err);
	free(config);
	if (r == 0)
		r = write_file(d, "users.xml",
			       "<?xml version=\"1.0\"?>\n"
			       "<yandex>\n"
			       "    <profiles>\n"
			       "        <default>\n"
			       "            <max_memory_usage>4000000000</max_memory_usage>\n"
			       "            <load_balancing>random</load_balancing>\n"
			       "        </default>\n"
			       "        <readonly>\n"
			       "            <readonly>1</readonly>\n"
			       "        </readonly>\n"
			       "    </profiles>\n"
			       "    <users>\n"
			       "        <default>\n"
			       "            <password></password>\n"
			       "            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
			       "            <profile>default</profile>\n"
			       "            <quota>default</quota>\n"
			       "        </default>\n"
			       "    </users>\n"
			       "    <quotas>\n"
			       "        <default>\n"
			       "            <interval>\n"
			       "                <duration>3600</duration>\n"
			       "                <queries>0</queries>\n"
			       "                <errors>0</errors>\n"
			       "                <result_rows>0</result_rows>\n"
			       "                <read_rows>0</read_rows>\n"
			       "                <execution_time>0</execution_time>\n"
			       "            </interval>\n"
			       "        </default>\n"
			       "    </quotas>\n"
			       "</yandex>\n",
			       err);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d\n", http);
	if (r == 0)
		r = write_file(d, "url", url, err);
	return r;
}

/* The first line of DIR/name into buf (newline cut). 0 or -errno. */
static int read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX + 32];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		r = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return r;
}

int bench_clickhouse_new(const struct bench_clickhouse_config *cfg, struct bench_clickhouse **out,
			 struct error *err)
{
	const char *compression = cfg->compression, *malloc_conf = cfg->malloc_conf;
	struct bench_clickhouse *ch = calloc(1, sizeof(*ch));
	char path[PATH_MAX + 32];
	int r;

	*out = NULL;
	if (!ch)
		return error_set(err, -ENOMEM, "clickhouse: out of memory");
	if (!compression)
		compression = getenv("CH_COMPRESSION") ? getenv("CH_COMPRESSION") : "zstd";
	if (!malloc_conf)
		malloc_conf =
		    getenv("CH_MALLOC_CONF") ? getenv("CH_MALLOC_CONF") : DEFAULT_MALLOC_CONF;
	snprintf(ch->compression, sizeof(ch->compression), "%s", compression);
	snprintf(ch->malloc_conf, sizeof(ch->malloc_conf), "%s", malloc_conf);
	ch->watch_pid = cfg->watch_pid;
	if (cfg->dir) {
		/* Absolute: the server runs from its directory and the
		 * configuration names every path in full. */
		if (!realpath(cfg->dir, ch->dir)) {
			r = error_set(err, -errno, "clickhouse: %s: %s", cfg->dir, strerror(errno));
			goto fail;
		}
	} else {
		const char *tmp = getenv("TMPDIR");
		char templ[PATH_MAX];

		snprintf(templ, sizeof(templ), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
			 cfg->name ? cfg->name : "weir-ch");
		if (!mkdtemp(templ)) {
			r = error_set(err, -errno, "clickhouse: mkdtemp %s: %s", templ,
				      strerror(errno));
			goto fail;
		}
		ch->own_dir = 1;
		if (!realpath(templ, ch->dir)) {
			r = error_set(err, -errno, "clickhouse: %s: %s", templ, strerror(errno));
			snprintf(ch->dir, sizeof(ch->dir), "%s", templ);
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "%s/config.xml", ch->dir);
	if (access(path, F_OK) == 0) {
		/* A restart: same ports and data. */
		r = read_line(ch->dir, "url", ch->url, sizeof(ch->url));
		if (r < 0) {
			error_set(err, r, "clickhouse: no url in %s: %s", ch->dir, strerror(-r));
			goto fail;
		}
		*out = ch;
		return 0;
	}
	{
		int http = free_port_pick(), tcp = free_port_pick();

		if (http < 0 || tcp < 0) {
			r = error_set(err, http < 0 ? http : tcp, "clickhouse: no free port: %s",
				      strerror(-(http < 0 ? http : tcp)));
			goto fail;
		}
		r = write_config(ch, http, tcp, err);
		if (r < 0)
			goto fail;
		snprintf(ch->url, sizeof(ch->url), "http://127.0.0.1:%d", http);
	}
	*out = ch;
	return 0;
fail:
	/* Not _free: a server of this directory that another process started
	 * (its pid file) is not ours to stop. */
	if (ch->own_dir && ch->dir[0])
		bench_dir_remove(ch->dir);
	free(ch);
	return r;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* 1 when `url`/ping answers within 2 s. */
static int ping(const char *url)
{
	char target[128];
	CURL *h = curl_easy_init();
	int ok;

	if (!h)
		return 0;
	snprintf(target, sizeof(target), "%s/ping", url);
	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	ok = curl_easy_perform(h) == CURLE_OK;
	curl_easy_cleanup(h);
	return ok;
}

/* Parses a pid from text (async-signal-safe: used in the watcher). */
static pid_t parse_pid(const char *s, size_t n)
{
	long v = 0;

	for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	return (pid_t)v;
}

/* The pid in `path`, 0 when the file is absent or holds none
 * (async-signal-safe). */
static pid_t pid_file_read(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? parse_pid(buf, (size_t)n) : 0;
}

/* SIGTERM, SIGKILL after STOP_WAIT_MS; returns once `pid` is gone. `child`:
 * it is this process's child, reaped here (a zombie would seem alive). Only
 * async-signal-safe calls: the watcher uses it too. */
static void terminate(pid_t pid, int child)
{
	if (kill(pid, SIGTERM) < 0) {
		if (child)
			waitpid(pid, NULL, WNOHANG);
		return;
	}
	for (int i = 0; i < STOP_WAIT_MS / 100; i++) {
		if (child ? waitpid(pid, NULL, WNOHANG) == pid : kill(pid, 0) < 0)
			return;
		clock_sleep_ms(100);
	}
	kill(pid, SIGKILL);
	if (child) {
		waitpid(pid, NULL, 0);
	} else {
		clock_sleep_ms(200);
	}
}

static void close_from(int fd)
{
	/* Inherited descriptors (a test's pipes, the caller's sockets) would
	 * keep a `$(...)` around `weir bench clickhouse-server start` waiting. */
	if (syscall(SYS_close_range, (unsigned)fd, ~0U, 0) < 0)
		for (int i = fd; i < 1024; i++)
			close(i);
}

/* A process of its own (double fork: nobody has to reap it) that stops the
 * server once watch_pid has exited, as long as the pid file still names
 * that server (a stop removes the file, a restart writes another pid). */
static void start_watcher(const struct bench_clickhouse *ch, const char *pid_path, int devnull)
{
	pid_t server = ch->pid, watch = ch->watch_pid, p = fork();

	if (p < 0)
		return;
	if (p > 0) {
		waitpid(p, NULL, 0);
		return;
	}
	/* From here on, only async-signal-safe calls: this process may have
	 * threads whose locks the fork copied. */
	if (fork() != 0)
		_exit(0);
	setsid();
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	close_from(3);
	for (;;) {
		if (pid_file_read(pid_path) != server)
			_exit(0);
		if (kill(watch, 0) < 0 && errno == ESRCH)
			break;
		clock_sleep_ms(1000);
	}
	terminate(server, 0);
	if (pid_file_read(pid_path) == server)
		unlink(pid_path);
	_exit(0);
}

int bench_clickhouse_start(struct bench_clickhouse *ch, struct error *err)
{
	char bin[PATH_MAX], config_arg[PATH_MAX + 32], log_path[PATH_MAX + 32],
	    pid_path[PATH_MAX + 32], malloc_env[300], pid_text[32];
	char *argv[4], **envp = NULL;
	int multicall, devnull = -1, log = -1, r;
	size_t n = 0, k = 0;
	pid_t pid;

	if (ch->pid)
		return 0;
	r = server_binary(bin, sizeof(bin), &multicall);
	if (r < 0)
		return error_set(err, r, "clickhouse: clickhouse-server is not installed");
	snprintf(config_arg, sizeof(config_arg), "--config-file=%s/config.xml", ch->dir);
	snprintf(log_path, sizeof(log_path), "%s/log/stdout.log", ch->dir);
	snprintf(pid_path, sizeof(pid_path), "%s/pid", ch->dir);
	snprintf(malloc_env, sizeof(malloc_env), "MALLOC_CONF=%s", ch->malloc_conf);
	argv[k++] = bin;
	if (multicall)
		argv[k++] = "server";
	argv[k++] = config_arg;
	argv[k] = NULL;
	/* The environment, with our MALLOC_CONF: built before fork() (no
	 * allocation in the child). */
	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return error_set(err, -ENOMEM, "clickhouse: out of memory");
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "MALLOC_CONF=", 12))
			envp[k++] = environ[i];
	envp[k++] = malloc_env;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	log = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (devnull < 0 || log < 0) {
		r = error_set(err, -errno, "clickhouse: %s: %s", log < 0 ? log_path : "/dev/null",
			      strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = error_set(err, -errno, "clickhouse: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Its own session: the caller's terminal signals are not its. */
		setsid();
		if (chdir(ch->dir) < 0)
			_exit(127);
		dup2(devnull, 0);
		dup2(log, 1);
		dup2(log, 2);
		close_from(3);
		execve(bin, argv, envp);
		_exit(127);
	}
	ch->pid = pid;
	ch->child = 1;
	snprintf(pid_text, sizeof(pid_text), "%d\n", (int)pid);
	r = write_file(ch->dir, "pid", pid_text, err);
	if (r < 0)
		goto fail;
	if (ch->watch_pid > 0)
		start_watcher(ch, pid_path, devnull);
	for (int waited = 0;; waited += 100) {
		int status;

		if (ping(ch->url))
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* Reaped: nothing to stop (its pid may be reused). */
			ch->pid = 0;
			ch->child = 0;
			unlink(pid_path);
			r = error_set(err, -EIO,
				      "clickhouse: clickhouse-server exited at start (status %d); "
				      "its logs are in %s/log",
				      WIFEXITED(status) ? WEXITSTATUS(status)
							: 128 + WTERMSIG(status),
				      ch->dir);
			goto out;
		}
		if (waited >= START_WAIT_MS) {
			r = error_set(err, -ETIMEDOUT,
				      "clickhouse: clickhouse-server did not answer in %d s; its "
				      "logs are in %s/log",
				      START_WAIT_MS / 1000, ch->dir);
			goto fail;
		}
		clock_sleep_ms(100);
	}
	r = 0;
	goto out;
fail:
	bench_clickhouse_stop(ch);
out:
	if (devnull >= 0)
		close(devnull);
	if (log >= 0)
		close(log);
	free(envp);
	return r;
}

int bench_clickhouse_stop(struct bench_clickhouse *ch)
{
	char pid_path[PATH_MAX + 32];
	pid_t pid = ch->pid;
	int child = ch->child;

	snprintf(pid_path, sizeof(pid_path), "%s/pid", ch->dir);
	if (!pid) {
		pid = pid_file_read(pid_path);
		child = 0;
	}
	/* Gone first: the watcher sees it and leaves. */
	unlink(pid_path);
	if (pid > 0)
		terminate(pid, child);
	ch->pid = 0;
	ch->child = 0;
	return 0;
}

void bench_clickhouse_free(struct bench_clickhouse *ch)
{
	if (!ch)
		return;
	if (ch->dir[0])
		bench_clickhouse_stop(ch);
	if (ch->own_dir && ch->dir[0])
		bench_dir_remove(ch->dir);
	free(ch);
}

const char *bench_clickhouse_url(const struct bench_clickhouse *ch)
{
	return ch->url;
}

const char *bench_clickhouse_dir(const struct bench_clickhouse *ch)
{
	return ch->dir;
}

pid_t bench_clickhouse_pid(const struct bench_clickhouse *ch)
{
	return ch->pid;
}

const char *bench_clickhouse_compression(const struct bench_clickhouse *ch)
{
	return ch->compression[0] ? ch->compression : "lz4";
}

/* ---- `weir bench clickhouse-server` (hidden): the launcher for scripts ---- */

/* The last `lines` lines of DIR/log/NAME to stderr (a start that failed). */
static void log_tail(const char *dir, const char *name, int lines)
{
	char path[PATH_MAX + 32], *buf;
	long len, at;
	int seen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/log/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return;
	/* Only its end: the log of a server that did not start is short, but
	 * one that was restarted keeps its past. */
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	at = len > 65536 ? len - 65536 : 0;
	fseek(f, at, SEEK_SET);
	len -= at;
	buf = malloc((size_t)len + 1);
	if (buf && len >= 0 && fread(buf, 1, (size_t)len, f) == (size_t)len) {
		at = len;
		if (at && buf[at - 1] == '\n')
			at--;
		while (at > 0 && seen < lines)
			if (buf[--at] == '\n')
				seen++;
		if (seen == lines)
			at++;
		fprintf(stderr, "==> %s <==\n%.*s", path, (int)(len - at), buf + at);
	}
	free(buf);
	fclose(f);
}

static void clickhouse_usage(FILE *out)
{
	fprintf(out,
		"usage: weir bench clickhouse-server available | start DIR | stop DIR\n"
		"  available  exit 0 when clickhouse-server is installed\n"
		"  start DIR  start a private server with its files in DIR (which must exist;\n"
		"             a DIR with a configuration keeps its ports and data), wait until\n"
		"             it answers, print its URL\n"
		"  stop DIR   stop it (SIGTERM, SIGKILL after 20 s); data stay\n"
		"Environment: CH_COMPRESSION (zstd; lz4 or empty: the server's default),\n"
		"CH_MALLOC_CONF (jemalloc options; empty: its defaults), CH_WATCH_PID (stop\n"
		"the server once that process has exited).\n");
}

int bench_clickhouse_main(int argc, char **argv)
{
	struct bench_clickhouse_config cfg = {0};
	struct bench_clickhouse *ch = NULL;
	struct error err = {""};
	char pid_path[PATH_MAX + 32];
	const char *watch = getenv("CH_WATCH_PID");

	if (argc == 2 && !strcmp(argv[1], "available"))
		return bench_clickhouse_available() ? 0 : 1;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		clickhouse_usage(stdout);
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "start") && strcmp(argv[1], "stop"))) {
		clickhouse_usage(stderr);
		return 2;
	}
	cfg.dir = argv[2];
	if (!strcmp(argv[1], "stop")) {
		/* Nothing to do without a pid file (and no configuration to
		 * write into a directory never started). */
		snprintf(pid_path, sizeof(pid_path), "%s/pid", argv[2]);
		if (access(pid_path, F_OK) != 0)
			return 0;
		if (bench_clickhouse_new(&cfg, &ch, &err) < 0) {
			fprintf(stderr, "weir bench clickhouse-server: %s\n", error_text(&err));
			return 1;
		}
		bench_clickhouse_free(ch);
		return 0;
	}
	if (watch && *watch)
		cfg.watch_pid = (pid_t)strtol(watch, NULL, 10);
	if (bench_clickhouse_new(&cfg, &ch, &err) < 0 || bench_clickhouse_start(ch, &err) < 0) {
		fprintf(stderr, "weir bench clickhouse-server: %s\n", error_text(&err));
		if (ch) {
			fprintf(stderr,
				"clickhouse-server did not start; last lines of its logs:\n");
			log_tail(bench_clickhouse_dir(ch), "server.err.log", 20);
			log_tail(bench_clickhouse_dir(ch), "stdout.log", 20);
		}
		bench_clickhouse_free(ch);
		return 1;
	}
	printf("%s\n", bench_clickhouse_url(ch));
	/* No _free: it would stop the server, which outlives this process
	 * (`... stop DIR` or the watcher stops it). */
	return 0;
}
