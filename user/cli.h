/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Entry points of the weir subcommands. Each takes argv with argv[0] = the
 * subcommand's name, returns the process exit code (0 ok, 1 failure, 2 usage),
 * and answers --help. */
#ifndef WEIR_CLI_H
#define WEIR_CLI_H

int cli_run_main(int argc, char **argv);	  /* cli_roles.c */
int cli_inlet_main(int argc, char **argv);	  /* cli_roles.c */
int cli_outlet_main(int argc, char **argv);	  /* cli_roles.c */
int cli_console_main(int argc, char **argv);	  /* cli_console.c */
int cli_orchestrator_main(int argc, char **argv); /* cli_orchestrator.c */
int cli_decode_main(int argc, char **argv);	  /* cli_decode.c */
int cli_bench_main(int argc, char **argv);	  /* cli_bench.c */
int cli_probe_main(int argc, char **argv);	  /* cli_probe.c */
int cli_config_main(int argc, char **argv);	  /* cli_config.c */
int cli_stats_main(int argc, char **argv);	  /* cli_stats.c */
int cli_version_main(int argc, char **argv);	  /* cli_config.c */

/* 1 when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
