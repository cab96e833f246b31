#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
# What a merge of flows costs the embedded engine per row, and console-like
# query times, by flows' sorting key (user/store/README.md, "Sustained rate:
# merges"): libchdb.so through ctypes, on the realistic flows `weir bench
# store --url embedded://DIR` leaves in DIR (weir_bench.flows), copied into a
# table keyed by the minute (before session 11) and one keyed by the second.
#
# usage: merge_cost.py DIR [merge|query] [minute,second,...]
#   merge  each table filled as PARTS (default 4) parts split by TimeReceived
#          (as the writer's batches are), merges stopped; then OPTIMIZE FINAL:
#          CPU of this process per row inserted and per row merged, bytes
#   query  the same tables, merged, then three console-like queries (best of 5)
#   sustain  PARTS (default 24) parts of a quarter of the flows each, in time
#          order (the flows again, 1 s later each round, past the first
#          four), inserted one after the other while merges run, as the
#          writer's batches are, then until no merge runs: CPU per row in
#          all, rows merged per row (MergedRows), parts left
# Env: CHDB (libchdb.so; default third_party/chdb/libchdb.so), PARTS.
# Run with nothing else using DIR (weir stopped): one process per directory.
import ctypes
import os
import resource
import sys
import time

top = os.path.dirname(os.path.abspath(__file__)) + "/../.."
lib = ctypes.CDLL(os.environ.get("CHDB", top + "/third_party/chdb/libchdb.so"))
lib.chdb_connect.restype = ctypes.c_void_p
lib.chdb_connect.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
lib.chdb_query.restype = ctypes.c_void_p
lib.chdb_query.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
lib.chdb_result_buffer.restype = ctypes.c_void_p
lib.chdb_result_buffer.argtypes = [ctypes.c_void_p]
lib.chdb_result_length.restype = ctypes.c_size_t
lib.chdb_result_length.argtypes = [ctypes.c_void_p]
lib.chdb_result_error.restype = ctypes.c_char_p
lib.chdb_result_error.argtypes = [ctypes.c_void_p]
lib.chdb_destroy_query_result.argtypes = [ctypes.c_void_p]

d = sys.argv[1]
# weir-engine.xml: the merge settings weir gives the engine (user/store/chdb.c)
args = [b"merge_cost", ("--path=" + d).encode(), ("--config-file=" + d + "/weir-engine.xml").encode()]
conn = ctypes.c_void_p.from_address(lib.chdb_connect(len(args), (ctypes.c_char_p * len(args))(*args))).value


def q(sql):
    r = lib.chdb_query(conn, sql.encode(), b"TSV")
    err = lib.chdb_result_error(r)
    if err:
        raise RuntimeError(err.decode() + ": " + sql[:200])
    n = lib.chdb_result_length(r)
    out = ctypes.string_at(lib.chdb_result_buffer(r), n).decode() if n else ""
    lib.chdb_destroy_query_result(r)
    return out.strip()


def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)  # every thread: the engine's too
    return u.ru_utime + u.ru_stime


REST = "ExporterAddress, InIfName, OutIfName, InIf, OutIf, SrcAS, DstAS, SrcAddr, DstAddr"
KEYS = {  # partitions, first column of the key
    "minute": ("toYYYYMMDD(TimeReceived)", "toStartOfMinute(TimeReceived)"),
    "second": ("toYYYYMMDD(TimeReceived) * 100 + toHour(TimeReceived)", "TimeReceived"),
}
SRC = "weir_bench.flows"
lo, hi, n = map(int, q(f"SELECT toUInt32(min(TimeReceived)), toUInt32(max(TimeReceived)), count() FROM {SRC}").split())
nparts = int(os.environ.get("PARTS", "4"))


def create(kind):
    """Table t_KIND, empty, keyed and partitioned as KEYS[kind] says."""
    part, first = KEYS[kind]
    t = "t_" + kind
    q(f"DROP TABLE IF EXISTS {t} SYNC")
    q(f"CREATE TABLE {t} AS {SRC} ENGINE = MergeTree PARTITION BY {part} "
      f"PRIMARY KEY ({first}, ExporterAddress, InIfName, OutIfName) ORDER BY ({first}, {REST})")
    return t


def fill(kind):
    t = create(kind)
    q(f"SYSTEM STOP MERGES {t}")
    edges = [lo + (hi + 1 - lo) * i // nparts for i in range(nparts + 1)]
    c0 = cpu()
    for a, b in zip(edges, edges[1:]):
        q(f"INSERT INTO {t} SELECT * FROM {SRC} WHERE TimeReceived >= toDateTime({a}) AND "
          f"TimeReceived < toDateTime({b}) SETTINGS min_insert_block_size_rows = 100000000, "
          f"min_insert_block_size_bytes = 0, max_insert_threads = 1, max_threads = 1, "
          f"max_block_size = 1048576")
    ins = cpu() - c0
    parts = q(f"SELECT count() FROM system.parts WHERE active AND table = '{t}'")
    q(f"SYSTEM START MERGES {t}")
    c0, w0 = cpu(), time.time()
    q(f"OPTIMIZE TABLE {t} FINAL")
    merge, wall = cpu() - c0, time.time() - w0
    size = int(q(f"SELECT sum(data_compressed_bytes) FROM system.parts WHERE active AND table = '{t}'"))
    print(f"{kind}: {parts} parts; insert {ins * 1e6 / n:.2f} us/row; OPTIMIZE FINAL "
          f"{merge * 1e6 / n:.2f} us of CPU per row merged ({wall:.1f} s); {size / n:.2f} bytes/row",
          flush=True)


def queries(kind):
    t = "t_" + kind
    mid, span = (lo + hi) // 2, max(60, (hi - lo) // 4)
    where = f"TimeReceived BETWEEN toDateTime({mid - span}) AND toDateTime({mid + span})"
    sqls = [  # a graph by SrcAS; one exporter's interface; one DstAS
        f"SELECT toStartOfInterval(TimeReceived, INTERVAL 60 second) AS t, SrcAS, sum(Bytes) "
        f"FROM {t} WHERE {where} GROUP BY t, SrcAS ORDER BY 3 DESC LIMIT 20",
        f"SELECT SrcAS, sum(Bytes) FROM {t} WHERE {where} AND ExporterAddress = (SELECT "
        f"ExporterAddress FROM {t} LIMIT 1) AND InIf = (SELECT InIf FROM {t} LIMIT 1) "
        f"GROUP BY SrcAS ORDER BY 2 DESC LIMIT 10",
        f"SELECT count(), sum(Bytes) FROM {t} WHERE {where} AND DstAS = (SELECT DstAS FROM {t} LIMIT 1)",
    ]
    ms = []
    for sql in sqls:
        best = 1e9
        for _ in range(5):
            w0 = time.time()
            q(sql)
            best = min(best, time.time() - w0)
        ms.append(f"{best * 1000:.1f}")
    print(f"{kind}: query ms (best of 5): " + ", ".join(ms), flush=True)


def sustain(kind):
    t = create(kind)
    span = hi + 1 - lo
    edges = [lo + span * i // 4 for i in range(5)]
    merged0 = int(q("SELECT value FROM system.events WHERE event = 'MergedRows'") or 0)
    c0, w0, rows = cpu(), time.time(), 0
    for i in range(nparts):
        a, b, shift = edges[i % 4], edges[i % 4 + 1], (i // 4) * span
        # (the WHERE in a subquery: outside, it would see the alias)
        q(f"INSERT INTO {t} SELECT * REPLACE (TimeReceived + {shift} AS TimeReceived) FROM "
          f"(SELECT * FROM {SRC} WHERE TimeReceived >= toDateTime({a}) AND "
          f"TimeReceived < toDateTime({b})) SETTINGS min_insert_block_size_rows = 100000000, min_insert_block_size_bytes = 0, "
          f"max_insert_threads = 1, max_threads = 1, max_block_size = 1048576")
        rows += n // 4
    while int(q(f"SELECT count() FROM system.merges WHERE table = '{t}'")):
        time.sleep(0.5)
    total = cpu() - c0
    merged = int(q("SELECT value FROM system.events WHERE event = 'MergedRows'") or 0) - merged0
    parts = q(f"SELECT count() FROM system.parts WHERE active AND table = '{t}'")
    print(f"{kind}: {nparts} parts inserted while merging: {total * 1e6 / rows:.2f} us of CPU per "
          f"row in all, {merged / rows:.2f} rows merged per row, {parts} parts left "
          f"({time.time() - w0:.0f} s)", flush=True)
    q(f"DROP TABLE {t} SYNC")


mode = sys.argv[2] if len(sys.argv) > 2 else "merge"
if mode == "sustain":
    nparts = int(os.environ.get("PARTS", "24"))
print(f"{n} rows, {hi - lo + 1} s of TimeReceived, {nparts} parts by time", flush=True)
for kind in (sys.argv[3] if len(sys.argv) > 3 else "minute,second,minute,second").split(","):
    if mode == "sustain":
        sustain(kind)
        continue
    fill(kind)
    if mode == "query":
        queries(kind)
