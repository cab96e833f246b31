/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The benchmarks of `weir bench` that live in this folder. Each takes argv
 * with argv[0] = its name, answers --help, prints its figures and returns
 * the exit code (0 ok, 1 failed or a count was wrong, 2 usage). */
#ifndef WEIR_BENCH_H
#define WEIR_BENCH_H

/* `weir bench probe` (bench_probe.c): needs root (network namespaces, BPF)
 * and softflowd for its side-by-side figures. */
int bench_probe_main(int argc, char **argv);

#endif
