/*
 * attr - the attribute-list model and the choice of encoding (see attr.h).
 *
 * An ATTR_LIST owns copies of every name and value.  Nested lists (hash
 * tables and runs) are separately allocated, so the pointer that
 * attr_list_add_hash() and attr_list_add_run() return stays valid while the
 * outer list grows.
 */
#include <stdio.h>
#include <string.h>

#include "attr.h"
#include "attr_impl.h"
#include "msg.h"
#include "xalloc.h"

const ATTR_LIMITS attr_default_limits = {
    ATTR_STRING_MAX,
    ATTR_LIST_MAX,
    ATTR_HASH_MAX,
};

ATTR_LIST *
attr_list_create(void)
{
    return xcalloc(1, sizeof(ATTR_LIST));
}

static void
attr_free_item(ATTR *item)
{
    xfree(item->name);
    xfree(item->str);
    attr_list_free(item->list);
}

void
attr_list_reset(ATTR_LIST *list)
{
    for (size_t i = 0; i < list->count; i++)
        attr_free_item(list->items + i);
    list->count = 0;
}

void
attr_list_free(ATTR_LIST *list)
{
    if (list == NULL)
        return;
    attr_list_reset(list);
    xfree(list->items);
    xfree(list);
}

/* attr_list_append - a new zeroed item at the end of the list */

static ATTR *
attr_list_append(ATTR_LIST *list, int type, const char *name)
{
    ATTR *item;

    if (name != NULL && *name == 0)
        msg_panic("attr_list_append: empty attribute name");
    if (list->count == list->size) {
        list->size = list->size ? 2 * list->size : 8;
        list->items = xrealloc(list->items, list->size * sizeof(ATTR));
    }
    item = list->items + list->count++;
    memset(item, 0, sizeof(*item));
    item->type = type;
    item->name = name ? xstrdup(name) : NULL;
    return item;
}

void
attr_list_add_int(ATTR_LIST *list, const char *name, unsigned value)
{
    attr_list_append(list, ATTR_TYPE_INT, name)->num = value;
}

void
attr_list_add_long(ATTR_LIST *list, const char *name, unsigned long value)
{
    attr_list_append(list, ATTR_TYPE_LONG, name)->num = value;
}

void
attr_list_add_str(ATTR_LIST *list, const char *name, const char *value)
{
    ATTR *item = attr_list_append(list, ATTR_TYPE_STR, name);

    item->len = strlen(value);
    item->str = xmemdup(value, item->len + 1);
}

void
attr_list_add_data(ATTR_LIST *list, const char *name, const void *data,
                   size_t len)
{
    ATTR *item = attr_list_append(list, ATTR_TYPE_DATA, name);

    item->str = xmalloc(len + 1);
    if (len > 0)
        memcpy(item->str, data, len);
    item->str[len] = 0;
    item->len = len;
}

ATTR_LIST *
attr_list_add_hash(ATTR_LIST *list)
{
    ATTR *item = attr_list_append(list, ATTR_TYPE_HASH, NULL);

    return item->list = attr_list_create();
}

ATTR_LIST *
attr_list_add_run(ATTR_LIST *list)
{
    ATTR *item = attr_list_append(list, ATTR_TYPE_RUN, NULL);

    return item->list = attr_list_create();
}

const ATTR *
attr_list_find(const ATTR_LIST *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].name && strcmp(list->items[i].name, name) == 0)
            return list->items + i;
    return NULL;
}

const ATTR_CODEC *
attr_codec(ATTR_ENCODING enc)
{
    switch (enc) {
        case ATTR_ENC_0:
            return &attr_codec0;
        case ATTR_ENC_64:
            return &attr_codec64;
        case ATTR_ENC_PLAIN:
            return &attr_codec_plain;
    }
    msg_panic("attr_codec: unknown encoding %d", (int) enc);
}

/* print_value - one INT, LONG, STR or DATA attribute */

static int
print_value(STRBUF *out, const ATTR_CODEC *codec, const ATTR *item)
{
    char num[32];
    STRBUF *text;
    int ret;

    switch (item->type) {
        case ATTR_TYPE_INT:
            snprintf(num, sizeof(num), "%u", (unsigned) item->num);
            return codec->put_pair(out, item->name, num, strlen(num));
        case ATTR_TYPE_LONG:
            snprintf(num, sizeof(num), "%lu", item->num);
            return codec->put_pair(out, item->name, num, strlen(num));
        case ATTR_TYPE_STR:
            return codec->put_pair(out, item->name, item->str, item->len);
        case ATTR_TYPE_DATA:
            if (!codec->data_is_text)
                return codec->put_pair(out, item->name, item->str, item->len);
            text = strbuf_alloc(item->len * 4 / 3 + 4);
            attr_base64_encode(text, item->str, item->len);
            ret = codec->put_pair(out, item->name, strbuf_str(text),
                                  strbuf_len(text));
            strbuf_free(text);
            return ret;
        default:
            msg_panic("attr_print: unknown type %d", item->type);
    }
}

/* print_items - a list; a hash holds simple attributes only */

static int
print_items(STRBUF *out, const ATTR_CODEC *codec, const ATTR_LIST *list,
            int in_hash)
{
    for (size_t i = 0; i < list->count; i++) {
        const ATTR *item = list->items + i;

        if ((item->type == ATTR_TYPE_HASH || item->type == ATTR_TYPE_RUN) &&
            in_hash)
            return -1;
        if (item->type == ATTR_TYPE_HASH) {
            codec->put_marker(out, "{");
            if (print_items(out, codec, item->list, 1) < 0)
                return -1;
            codec->put_marker(out, "}");
        } else if (item->type == ATTR_TYPE_RUN) {
            if (print_items(out, codec, item->list, 0) < 0)
                return -1;
        } else if (print_value(out, codec, item) < 0) {
            return -1;
        }
    }
    return 0;
}

int
attr_print(STRBUF *out, ATTR_ENCODING enc, int flags, const ATTR_LIST *list)
{
    const ATTR_CODEC *codec = attr_codec(enc);
    size_t mark = strbuf_len(out);

    if (print_items(out, codec, list, 0) < 0) {
        strbuf_truncate(out, mark);
        return -1;
    }
    if ((flags & ATTR_FLAG_MORE) == 0)
        codec->put_end(out);
    return 0;
}

int
attr_print0(STRBUF *out, int flags, const ATTR_LIST *list)
{
    return attr_print(out, ATTR_ENC_0, flags, list);
}
