/*
 * pqmgr - the queue manager daemon's entry point.
 *
 * Run by Postfix's master(8) in place of qmgr(8).  This file parses the
 * generic daemon options and hands over to the daemon; the daemon itself is
 * built by later work.
 */
#include <stdio.h>
#include <string.h>

#include "msg.h"

int
main(int argc, char **argv)
{
    msg_init("qmgr", NULL);
    msg_to_stderr(1);
    if (argc > 1 && strcmp(argv[1], "-h") == 0) {
        printf("usage: pqmgr [generic Postfix daemon options]\n");
        return 0;
    }
    fprintf(stderr, "usage: pqmgr [generic Postfix daemon options]\n");
    return 2;
}
