/* Subcommand entry points: each parses its options and calls the layers. */
#ifndef DBK_CLI_CMD_H
#define DBK_CLI_CMD_H

/* Exit codes shared by every subcommand (documented in dnsblkit(1)). */
enum { CMD_OK = 0, CMD_FAIL = 1, CMD_USAGE = 2 };

int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_allow(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_policyd(int argc, char **argv);

#endif
