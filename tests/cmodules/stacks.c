/* The functions of ABI 1.1 in C: each thread's stack key and each frame's
 * stack pointer, as kv `c_key_TID` and annotations `sp 0x...`; the test
 * compares them with the Lua module doing the same and with the
 * snapshot. */
#include <stdio.h>
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;
static const ptsnap_match none = {0};

#define TRY(call) do { if ((call) < 0) return 1; } while (0)

static int thread_cb(ptsnap_thread thr, void *user)
{
    int64_t tid;
    const char *key;
    char name[64];
    ptsnap_backtrace bt;
    (void)user;
    TRY(api->thread_tid(thr, &tid));
    TRY(api->thread_stack_key(thr, &key));
    TRY(api->backtrace(&bt));
    snprintf(name, sizeof name, "c_key_%lld", (long long)tid);
    return api->bt_add_kv_string(bt, name, key);
}

static int frame_cb(ptsnap_frame fr, void *user)
{
    uint64_t sp;
    (void)user;
    TRY(api->frame_stack_pointer(fr, &sp));
    return ptsnap_annotatef(api, fr.id, PTSNAP_ANNOTATION_COMMENT, "sp 0x%llx", (unsigned long long)sp);
}

static int load(void *user)
{
    (void)user;
    if (!PTSNAP_API_HAS(api, thread_stack_key) || !PTSNAP_API_HAS(api, frame_stack_pointer))
        return 1;
    TRY(api->register_thread(thread_cb, none, NULL));
    return api->register_frame(frame_cb, none, NULL);
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    return api->define("stacks", "ABI 1.1 test", "1", load, NULL, NULL);
}
