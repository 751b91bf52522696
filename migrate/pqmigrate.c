/*
 * pqmigrate - copy or move a queue between two pqmgr stores.
 *
 * Usage: see usage() below.  The commands are filled in by later work; for now
 * the program prints its usage and exits.
 */
#include <stdio.h>
#include <string.h>

#include "msg.h"

static int
usage(FILE *fp)
{
    fprintf(fp, "usage: pqmigrate [-c config_dir] command [args...]\n");
    return fp == stdout ? 0 : 2;
}

int
main(int argc, char **argv)
{
    msg_init("pqmigrate", NULL);
    msg_to_stderr(1);
    if (argc > 1 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        return usage(stdout);
    return usage(stderr);
}
