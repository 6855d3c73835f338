/* The API's errors: handles that are invalid, of the wrong kind or
 * expired; a kept handle; NULL arguments; a callback's failure. Each code
 * is recorded as a kv. */
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;
static ptsnap_thread expired, kept;
static ptsnap_btvar version_raw;

static int thread_cb(ptsnap_thread thr, void *user)
{
    (void)user;
    if (!expired.id)
        expired = thr;
    else if (!kept.id) {
        kept = thr;
        api->keep(thr.id);
    }
    return 0;
}

static int postattach_cb(ptsnap_backtrace bt, void *user)
{
    int64_t tid;
    const char *text;
    ptsnap_frame frame_as_thread = {bt.id};
    ptsnap_variable v;
    (void)user;
    api->bt_add_kv_int(bt, "bogus", api->thread_tid((ptsnap_thread){12345678}, &tid));
    api->bt_add_kv_int(bt, "wrong_kind", api->frame_symbol(frame_as_thread, &text));
    api->bt_add_kv_int(bt, "expired", api->thread_tid(expired, &tid));
    api->bt_add_kv_int(bt, "kept", api->thread_tid(kept, &tid));
    api->bt_add_kv_int(bt, "kept_tid", tid);
    api->bt_add_kv_int(bt, "null_key", api->bt_add_kv_int(bt, NULL, 1));
    api->bt_add_kv_string(bt, "null_key_error", api->last_error());
    api->bt_add_kv_int(bt, "null_out", api->thread_tid(kept, NULL));
    api->bt_add_kv_int(bt, "bad_level", api->annotate(bt.id, 99, "x"));
    api->bt_add_kv_int(bt, "kept_btvar", api->variable_from_bt(version_raw, &v));
    return 3;
}

static int attach_cb(ptsnap_backtrace bt, void *user)
{
    (void)bt;
    (void)user;
    if (api->bt_query("global_version", NULL, NULL, &version_raw) == PTSNAP_OK)
        api->keep(version_raw.id);
    return 0;
}

static int load(void *user)
{
    (void)user;
    api->register_thread(thread_cb, (ptsnap_match){0}, NULL);
    api->register_backtrace(PTSNAP_EVENT_ATTACH, attach_cb, (ptsnap_match){0}, NULL);
    return api->register_backtrace(PTSNAP_EVENT_POSTATTACH, postattach_cb, (ptsnap_match){0}, NULL);
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    return api->define("handles", NULL, NULL, load, NULL, NULL);
}
