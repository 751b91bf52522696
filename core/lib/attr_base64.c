/*
 * attr_base64 - base64 as the attribute encodings use it (see attr_impl.h).
 *
 * The standard alphabet (A-Z a-z 0-9 + /) with "=" padding and no line
 * breaks.  The decoder accepts only what a correct encoder produces: a
 * length that is a multiple of 4, alphabet characters, and padding only as
 * the last one or two characters.
 */
#include "attr_impl.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
attr_base64_encode(STRBUF *out, const void *data, size_t len)
{
    const unsigned char *in = data;
    char quad[4];

    for (; len >= 3; in += 3, len -= 3) {
        quad[0] = b64_alphabet[in[0] >> 2];
        quad[1] = b64_alphabet[(in[0] & 0x3) << 4 | in[1] >> 4];
        quad[2] = b64_alphabet[(in[1] & 0xf) << 2 | in[2] >> 6];
        quad[3] = b64_alphabet[in[2] & 0x3f];
        strbuf_addmem(out, quad, 4);
    }
    if (len == 0)
        return;
    quad[0] = b64_alphabet[in[0] >> 2];
    if (len == 1) {
        quad[1] = b64_alphabet[(in[0] & 0x3) << 4];
        quad[2] = '=';
    } else {
        quad[1] = b64_alphabet[(in[0] & 0x3) << 4 | in[1] >> 4];
        quad[2] = b64_alphabet[(in[1] & 0xf) << 2];
    }
    quad[3] = '=';
    strbuf_addmem(out, quad, 4);
}

/* b64_value - the 6-bit value of an alphabet character, or -1 */

static int
b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* decode_quad - one group of four characters; returns bytes made or -1 */

static int
decode_quad(const unsigned char *in, int last, unsigned char *bytes)
{
    int v[4];
    int pad = 0;

    if (last && in[3] == '=')
        pad = (in[2] == '=') ? 2 : 1;
    for (int i = 0; i < 4 - pad; i++)
        if ((v[i] = b64_value(in[i])) < 0)
            return -1;
    bytes[0] = (unsigned char) (v[0] << 2 | v[1] >> 4);
    if (pad == 2)
        return 1;
    bytes[1] = (unsigned char) ((v[1] & 0xf) << 4 | v[2] >> 2);
    if (pad == 1)
        return 2;
    bytes[2] = (unsigned char) ((v[2] & 0x3) << 6 | v[3]);
    return 3;
}

int
attr_base64_decode(STRBUF *out, const char *text, size_t len)
{
    const unsigned char *in = (const unsigned char *) text;
    unsigned char bytes[3];
    int made;

    strbuf_reset(out);
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        if ((made = decode_quad(in + i, i + 4 == len, bytes)) < 0)
            return -1;
        strbuf_addmem(out, bytes, (size_t) made);
    }
    return 0;
}
