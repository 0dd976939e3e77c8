/* dnsblkit: one binary, one subcommand per cmd_<name>.c. */
#include "cli/cmd.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} main_commands[] = {
    {"serve", cmd_serve, "serve DNS blocklists (an rbldnsd drop-in)"},
    {"report", cmd_report, "count spam reports and trap hits; list their sources"},
    {"list", cmd_list, "add, delete, show and list a zone's listings"},
    {"allow", cmd_allow, "the allowlist: addresses never listed"},
    {"export", cmd_export, "write a zone's listings as an rbldnsd or BIND file"},
    {"check", cmd_check, "check addresses and domains against DNS lists, safely"},
    {"monitor", cmd_monitor, "probe DNS lists' health (a Nagios plugin, or --watch)"},
    {"policyd", cmd_policyd, "the DNS lists in front of Postfix (policy delegation)"},
};

static void main_usage(FILE *f)
{
    fprintf(f, "Usage: dnsblkit COMMAND [options] ...\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
        fprintf(f, "  %-8s %s\n", main_commands[i].name, main_commands[i].summary);
    fprintf(f, "\nRun 'dnsblkit COMMAND --help' for a command's options; see dnsblkit(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        main_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dnsblkit %s\n", DBK_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
        if (!strcmp(argv[1], main_commands[i].name))
            return main_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dnsblkit: unknown command '%s'\n", argv[1]);
    main_usage(stderr);
    return 2;
}
