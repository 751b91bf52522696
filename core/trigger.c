/*
 * trigger - decode one batch of queue-manager trigger bytes (trigger.h).
 */
#include "trigger.h"

int
trigger_decode(const char *buf, size_t len, TRIGGER_BATCH *batch)
{
    int requests = 0;

    batch->incoming = batch->deferred = 0;
    for (size_t i = 0; i < len; i++) {
        switch (buf[i]) {
            case 'I':
            case 'W':
                batch->incoming |= SCAN_START;
                break;
            case 'D':
                batch->deferred |= SCAN_START;
                break;
            case 'A':
                batch->incoming |= SCAN_ALL;
                batch->deferred |= SCAN_ALL;
                break;
            case 'F':
                batch->incoming |= SCAN_FLUSH_ONCE | SCAN_FLUSH_DFXP;
                batch->deferred |= SCAN_FLUSH_ONCE | SCAN_FLUSH_DFXP;
                break;
            default:
                continue;
        }
        requests++;
    }
    return requests;
}
