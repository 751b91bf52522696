/*
 * queue_id - Postfix queue ids: validity, making, decoding, hashing
 * (interface in queue_id.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "queue_id.h"

/* Postfix's "safe" digits: no vowels.  Base 51 stops before the 'z'. */
static const char safe_digits[] =
    "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

#define SAFE_BASE_TIME  52
#define SAFE_BASE_INODE 51
#define LONG_SEC_PAD    6
#define LONG_USEC_PAD   4
#define LONG_TIME_PAD   (LONG_SEC_PAD + LONG_USEC_PAD)
#define LONG_INODE_SEP  'z'
#define SHORT_USEC_PAD  5
#define USEC_MAX        999999L

static int
is_id_char(int ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

int
queue_id_ok(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len > QUEUE_ID_MAX_LEN)
        return 0;
    for (; *id; id++)
        if (!is_id_char((unsigned char) *id))
            return 0;
    return 1;
}

/* long_separator - the 'z' that starts the inode part, or NULL */

static const char *
long_separator(const char *id)
{
    const char *z = strrchr(id, LONG_INODE_SEP);

    return z != NULL && z - id >= LONG_TIME_PAD ? z : NULL;
}

int
queue_id_is_long(const char *id)
{
    return long_separator(id) != NULL;
}

/* safe_encode - value in base 52 or 51, at least pad digits */

static int
safe_encode(char *buf, size_t len, unsigned long value, int base, int pad)
{
    char digits[8 * sizeof(unsigned long) + 1];
    int n = 0;

    while (value != 0) {
        digits[n++] = safe_digits[value % (unsigned long) base];
        value /= (unsigned long) base;
    }
    while (n < pad)
        digits[n++] = '0';
    if ((size_t) n >= len)
        return -1;
    for (int i = 0; i < n; i++)
        buf[i] = digits[n - 1 - i];
    buf[n] = 0;
    return n;
}

/* safe_digit - the value of a safe digit in base, or -1 */

static int
safe_digit(int ch, int base)
{
    const char *cp;

    if (ch == 0 || (cp = strchr(safe_digits, ch)) == NULL)
        return -1;
    return cp - safe_digits < base ? (int) (cp - safe_digits) : -1;
}

/* safe_decode - n safe digits in base; 0, or -1 (bad digit, overflow) */

static int
safe_decode(const char *str, size_t n, int base, unsigned long *value)
{
    unsigned long sum = 0;
    int digit;

    for (size_t i = 0; i < n; i++) {
        if ((digit = safe_digit((unsigned char) str[i], base)) < 0)
            return -1;
        if (sum > (ULONG_MAX - (unsigned long) digit) / (unsigned long) base)
            return -1;
        sum = sum * (unsigned long) base + (unsigned long) digit;
    }
    *value = sum;
    return 0;
}

/* hex_decode - n upper-case hex digits; 0, or -1 */

static int
hex_decode(const char *str, size_t n, unsigned long *value)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned long sum = 0;
    const char *cp;

    for (size_t i = 0; i < n; i++) {
        if (str[i] == 0 || (cp = strchr(hex, str[i])) == NULL)
            return -1;
        if (sum > (ULONG_MAX >> 4))
            return -1;
        sum = (sum << 4) | (unsigned long) (cp - hex);
    }
    *value = sum;
    return 0;
}

char *
queue_id_short(char *buf, size_t len, long usec, unsigned long inode)
{
    int n = snprintf(buf, len, "%05X%lX", (unsigned) usec, inode);

    return n >= 0 && (size_t) n < len ? buf : NULL;
}

char *
queue_id_long(char *buf, size_t len, long sec, long usec, unsigned long inode)
{
    int n, m;

    if ((n = safe_encode(buf, len, (unsigned long) sec, SAFE_BASE_TIME,
                         LONG_SEC_PAD)) < 0)
        return NULL;
    if ((m = safe_encode(buf + n, len - n, (unsigned long) usec, SAFE_BASE_TIME,
                         LONG_USEC_PAD)) < 0)
        return NULL;
    n += m;
    if ((size_t) n + 1 >= len)
        return NULL;
    buf[n++] = LONG_INODE_SEP;
    buf[n] = 0;
    if (safe_encode(buf + n, len - n, inode, SAFE_BASE_INODE, 0) < 0)
        return NULL;
    return buf;
}

static int
decode_long(const char *id, const char *z, QUEUE_ID_INFO *info)
{
    unsigned long sec, usec, inode;
    size_t sec_len = (size_t) (z - id) - LONG_USEC_PAD;

    if (safe_decode(id, sec_len, SAFE_BASE_TIME, &sec) < 0 || sec > LONG_MAX ||
        safe_decode(id + sec_len, LONG_USEC_PAD, SAFE_BASE_TIME, &usec) < 0 ||
        usec > USEC_MAX ||
        safe_decode(z + 1, strlen(z + 1), SAFE_BASE_INODE, &inode) < 0)
        return -1;
    info->long_form = 1;
    info->sec = (long) sec;
    info->usec = (long) usec;
    info->inode = inode;
    return 0;
}

static int
decode_short(const char *id, QUEUE_ID_INFO *info)
{
    unsigned long usec, inode;
    size_t len = strlen(id);

    if (len <= SHORT_USEC_PAD || hex_decode(id, SHORT_USEC_PAD, &usec) < 0 ||
        usec > USEC_MAX ||
        hex_decode(id + SHORT_USEC_PAD, len - SHORT_USEC_PAD, &inode) < 0)
        return -1;
    info->long_form = 0;
    info->sec = -1;
    info->usec = (long) usec;
    info->inode = inode;
    return 0;
}

int
queue_id_decode(const char *id, QUEUE_ID_INFO *info)
{
    const char *z;

    if (!queue_id_ok(id))
        return -1;
    if ((z = long_separator(id)) != NULL)
        return decode_long(id, z, info);
    return decode_short(id, info);
}

/*
 * hash_source - what the hash characters are taken from: the id itself, or
 * for a long id the "%05X" of its microseconds (decoded up to the first
 * character that is not a base-52 digit, as Postfix does).
 */
static const char *
hash_source(const char *id, char *hex, size_t len)
{
    const char *z = long_separator(id);
    unsigned long usec = 0;
    int digit;

    if (z == NULL)
        return id;
    for (const char *cp = z - LONG_USEC_PAD; cp < z; cp++) {
        if ((digit = safe_digit((unsigned char) *cp, SAFE_BASE_TIME)) < 0)
            break;
        usec = usec * SAFE_BASE_TIME + (unsigned long) digit;
    }
    snprintf(hex, len, "%05X", (unsigned) usec);
    return hex;
}

char *
queue_id_hash(char *buf, size_t len, const char *id, int depth)
{
    char hex[16];
    const char *src = hash_source(id, hex, sizeof(hex));
    size_t n = 0;

    if (depth < 0 || (size_t) depth * 2 + 1 > len)
        return NULL;
    for (int i = 0; i < depth; i++) {
        buf[n++] = *src ? *src++ : '_';
        buf[n++] = '/';
    }
    buf[n] = 0;
    return buf;
}

char *
queue_id_path(char *buf, size_t len, const char *queue, const char *id,
              int depth)
{
    char hash[2 * 64 + 1];
    int n;

    if (depth > 64 || queue_id_hash(hash, sizeof(hash), id, depth) == NULL)
        return NULL;
    n = snprintf(buf, len, "%s/%s%s", queue, hash, id);
    return n >= 0 && (size_t) n < len ? buf : NULL;
}
