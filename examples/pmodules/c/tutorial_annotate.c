/*
 * The tutorial's first module (../shared/reference/pmodule-tutorial.txt,
 * tests/pmodules/tutorial_annotate.lua) in C: annotations on the faulting
 * frame's parameters, the signal as json, iteration over the faulting
 * thread, globals (by unit, then global_version by name, its string read
 * from the target) and TLS, kv and a classifier. It writes the same lines
 * and annotations as the Lua module (its id is pmodule_c).
 *
 *     cc -shared -fPIC -Wall -Werror -I include -o tutorial_annotate.so tutorial_annotate.c
 */
#include <inttypes.h>
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;

/* tostring(var:value()) of the Lua module: an integer, a number or nil. */
static void value_text(ptsnap_variable var, char *buf, size_t size)
{
    int64_t i;
    double d;
    if (api->var_value_int(var, &i) == PTSNAP_OK)
        snprintf(buf, size, "%" PRId64, i);
    else if (api->var_value_double(var, &d) == PTSNAP_OK)
        snprintf(buf, size, "%.14g", d);
    else
        snprintf(buf, size, "nil");
}

static int frame_cb(ptsnap_frame fr, void *user)
{
    ptsnap_variable v;
    ptsnap_siginfo signal;
    ptsnap_backtrace bt;
    const char *reason, *text;
    int64_t i, num, code;
    uint64_t address;
    int populated;

    (void)user;
    for (i = 0; api->frame_fprm_at(fr, i, &v) == PTSNAP_OK; i++)
        ptsnap_annotatef(api, v.id, PTSNAP_ANNOTATION_CRITICAL, "lua: fprm %d", (int)i);
    if (api->frame_siginfo(fr, &signal) != PTSNAP_OK)
        return 0;
    if (api->siginfo_reason(signal, &reason, NULL) || api->siginfo_address_populated(signal, &populated) ||
        api->siginfo_address(signal, &address) || api->siginfo_num(signal, &num) ||
        api->siginfo_code(signal, &code) || api->siginfo_string(signal, &text) || api->backtrace(&bt))
        return 1;
    ptsnap_annotatef(api, bt.id, PTSNAP_ANNOTATION_JSON,
                     "{\"json\": {\"context\": \"Signal\", \"Reason\": \"%s\", \"Populated\": \"%s\", "
                     "\"Address\": \"%" PRIx64 "\", \"Num\": \"%d\", \"Code\": \"%d\", \"String\": \"%s\"}}",
                     reason, populated ? "true" : "false", address, (int)num, (int)code, text);
    return 0;
}

static int struct_var_cb(ptsnap_variable var, ptsnap_btvar raw, void *user)
{
    (void)raw;
    (void)user;
    return ptsnap_annotatef(api, var.id, PTSNAP_ANNOTATION_CRITICAL, "lua: struct var");
}

static int postattach_cb(ptsnap_backtrace bt, void *user)
{
    ptsnap_match m;
    ptsnap_thread thr = {0};
    ptsnap_variable var = {0};
    struct ptsnap_var_filter globals = {"crash", "invalid_write.c", NULL}, tls = {NULL, "hang", NULL};
    struct ptsnap_var_filter by_name = {NULL, NULL, "global_version"};
    const char *object, *cu, *name;
    char value[64];
    enum ptsnap_process_state state;

    (void)user;
    if (api->match_new(&m) || api->match_set_fault(m, 0))
        return 1;
    while (api->bt_next_thread(bt, m, thr, &thr) > 0) {
        ptsnap_frame fr = {0};
        while (api->thread_next_frame(thr, (ptsnap_match){0}, fr, &fr) > 0) {
            ptsnap_variable v = {0};
            while (api->frame_next_variable(fr, (ptsnap_match){0}, v, &v) > 0) {
                enum ptsnap_variable_type type;
                int64_t address;
                if (api->var_type(v, &type) == PTSNAP_OK && type == PTSNAP_TYPE_REFERENCE &&
                    api->var_value_int(v, &address) == PTSNAP_OK && api->var_name(v, &name) == PTSNAP_OK)
                    ptsnap_annotatef(api, v.id, PTSNAP_ANNOTATION_CRITICAL, "[%" PRIx64 "] %s - example annotation",
                                     (uint64_t)address, name);
            }
        }
    }
    ptsnap_logf(api, PTSNAP_LOG_WARNING, "Global variables:");
    while (api->bt_next_global(bt, &globals, var, &var, &object, &cu) > 0) {
        api->var_name(var, &name);
        value_text(var, value, sizeof value);
        ptsnap_logf(api, PTSNAP_LOG_WARNING, "name: %s, value: %s, object: %s, cu: %s", name, value, object, cu);
    }
    thr.id = 0;
    while (api->bt_next_thread(bt, (ptsnap_match){0}, thr, &thr) > 0) {
        ptsnap_variable t = {0};
        ptsnap_logf(api, PTSNAP_LOG_WARNING, "TLS variables:");
        while (api->thread_next_tls(thr, &tls, t, &t, &object, &cu) > 0) {
            api->var_name(t, &name);
            value_text(t, value, sizeof value);
            ptsnap_logf(api, PTSNAP_LOG_WARNING, "name: %s, value: %s, object: %s, cu: %s", name, value, object, cu);
        }
    }
    var.id = 0;
    while (api->bt_next_global(bt, &by_name, var, &var, NULL, NULL) > 0) {
        char str[256] = "nil";
        int64_t address = 0;
        api->var_value_int(var, &address);
        api->address_read_string((uint64_t)address, str, sizeof str, NULL);
        ptsnap_logf(api, PTSNAP_LOG_WARNING, "[%" PRIx64 "] string: %s", (uint64_t)address, str);
    }
    if (api->bt_process_state(bt, &state))
        return 1;
    ptsnap_logf(api, PTSNAP_LOG_WARNING, "process state: %d", (int)state);
    if (api->bt_add_kv_int(bt, "lua_key1", 42) || api->bt_add_kv_string(bt, "lua_key2", "lua_value") ||
        api->bt_add_classifier(bt, "lua"))
        return 1;
    return 0;
}

static int pm_load(void *user)
{
    ptsnap_match m;
    (void)user;
    if (api->register_backtrace(PTSNAP_EVENT_POSTATTACH, postattach_cb, (ptsnap_match){0}, NULL) ||
        api->match_new(&m) || api->match_add_object(m, "crash", PTSNAP_MATCH_EXACT) ||
        api->match_add_file(m, "crash.c", PTSNAP_MATCH_EXACT) ||
        api->match_add_frame_symbol(m, "recurse", PTSNAP_MATCH_SUBSTR) ||
        api->match_add_variable_base_type(m, "crash_", PTSNAP_MATCH_SUBSTR) ||
        api->match_add_variable_ptrace_type(m, PTSNAP_TYPE_TUPLE) ||
        api->register_variable(struct_var_cb, m, NULL) || api->match_reset(m) || api->match_set_fault(m, 0) ||
        api->register_frame(frame_cb, m, NULL))
        return 1;
    return 0;
}

static int pm_unload(void *user)
{
    (void)user;
    return ptsnap_logf(api, PTSNAP_LOG_WARNING, "pm_unload");
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    return api->define("pmodule_c", "tutorial annotate (C)", "1.0", pm_load, pm_unload, NULL);
}
