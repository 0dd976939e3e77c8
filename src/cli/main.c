/* dnsblkit: one binary, one subcommand per cmd_<name>.c. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "dnsblkit: not built yet\n");
    return 1;
}
