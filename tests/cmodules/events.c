/* The events module of tests/pmodules.rs (EVENTS_MODULE) in C: every
 * event, with and without match filters; iteration with matches and
 * filters; module arguments; memory reads; kv, tags, classifiers. */
#include <stdlib.h>
#include <string.h>
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;
static int64_t threads_seen, variables_seen;
static const ptsnap_match none = {0};

#define TRY(call) do { if ((call) < 0) return 1; } while (0)

static int preattach_cb(ptsnap_backtrace bt, void *user)
{
    int64_t pid;
    (void)user;
    TRY(api->bt_pid(bt, &pid));
    return api->bt_add_kv_int(bt, "preattach_pid", pid);
}

static int attach_cb(ptsnap_backtrace bt, void *user)
{
    (void)user;
    return api->bt_add_tag(bt, "attached");
}

static int thread_cb(ptsnap_thread thr, void *user)
{
    int64_t n, tid;
    (void)user;
    threads_seen++;
    TRY(api->thread_n_frames(thr, &n));
    TRY(api->thread_tid(thr, &tid));
    if (n > 0)
        TRY(ptsnap_annotatef(api, thr.id, PTSNAP_ANNOTATION_COMMENT, "thread %d", (int)tid));
    return 0;
}

static int frame_cb(ptsnap_frame fr, void *user)
{
    const char *symbol;
    int64_t line;
    (void)user;
    TRY(api->frame_symbol(fr, &symbol));
    TRY(api->frame_line(fr, &line));
    return ptsnap_annotatef(api, fr.id, PTSNAP_ANNOTATION_WARNING, "frame %s:%d", symbol, (int)line);
}

static int corner_cb(ptsnap_variable var, ptsnap_btvar raw, void *user)
{
    const char *type_name, *base_type;
    (void)raw;
    (void)user;
    TRY(api->var_type_name(var, &type_name));
    TRY(api->var_base_type(var, &base_type));
    return ptsnap_annotatef(api, var.id, PTSNAP_ANNOTATION_COMMENT, "struct %s %s", type_name, base_type);
}

static int global_cb(ptsnap_variable var, ptsnap_btvar raw, void *user)
{
    ptsnap_frame fr;
    const char *name;
    (void)raw;
    (void)user;
    if (api->var_frame(var, &fr) != PTSNAP_ERR_NOT_FOUND)
        return 0;
    TRY(api->var_name(var, &name));
    return ptsnap_annotatef(api, var.id, PTSNAP_ANNOTATION_COMMENT, "global %s", name);
}

static int count_cb(ptsnap_variable var, ptsnap_btvar raw, void *user)
{
    (void)var;
    (void)raw;
    (void)user;
    variables_seen++;
    return 0;
}

static int option(ptsnap_backtrace bt, const char *kv, const char *key)
{
    const char *value = "none";
    int rc = api->config_option(key, &value);
    if (rc != PTSNAP_OK && rc != PTSNAP_ERR_NOT_FOUND)
        return -1;
    return api->bt_add_kv_string(bt, kv, value);
}

static int postattach_cb(ptsnap_backtrace bt, void *user)
{
    ptsnap_match walk;
    ptsnap_thread thr = {0};
    ptsnap_variable g = {0};
    struct ptsnap_var_filter by_tls_name = {NULL, NULL, "tls_counter"}, by_version = {NULL, NULL, "global_version"};
    const char *object, *cu, *text;
    char names[512], version[256];
    int64_t value;
    unsigned char raw[4];

    (void)user;
    TRY(api->bt_add_kv_int(bt, "threads_seen", threads_seen));
    TRY(api->bt_add_kv_int(bt, "variables_seen", variables_seen));
    TRY(option(bt, "option", "flavour"));
    TRY(option(bt, "second", "k2"));
    TRY(api->match_new(&walk));
    TRY(api->match_add_frame_symbol(walk, "walk", PTSNAP_MATCH_EXACT));
    while (api->bt_next_thread(bt, walk, thr, &thr) > 0) {
        ptsnap_frame fr = {0};
        ptsnap_variable tls = {0};
        while (api->thread_next_frame(thr, walk, fr, &fr) > 0) {
            ptsnap_variable v = {0}, p;
            int64_t line;
            names[0] = 0;
            while (api->frame_next_variable(fr, none, v, &v) > 0) {
                const char *name;
                TRY(api->var_name(v, &name));
                if (names[0])
                    strncat(names, ",", sizeof names - strlen(names) - 1);
                strncat(names, name, sizeof names - strlen(names) - 1);
            }
            TRY(api->bt_add_kv_string(bt, "walk_vars", names));
            TRY(api->frame_line(fr, &line));
            TRY(api->bt_add_kv_int(bt, "walk_line", line));
            TRY(api->frame_object_file(fr, &object));
            TRY(api->bt_add_kv_string(bt, "walk_object", object));
            TRY(api->frame_fprm_at(fr, 2, &p));
            TRY(api->var_value_int(p, &value));
            TRY(api->bt_add_kv_int(bt, "depth_param", value));
            TRY(api->var_fprm_offset(p, &value));
            TRY(api->bt_add_kv_int(bt, "depth_offset", value));
            v.id = 0;
            while (api->frame_next_variable(fr, none, v, &v) > 0) {
                const char *name;
                double d;
                char buf[32];
                TRY(api->var_name(v, &name));
                if (!strcmp(name, "d") && api->var_value_double(v, &d) == PTSNAP_OK) {
                    snprintf(buf, sizeof buf, "%.2f", d);
                    TRY(api->bt_add_kv_string(bt, "d", buf));
                }
                if ((!strcmp(name, "buf") || !strcmp(name, "color")) && api->var_symbol(v, &text) == PTSNAP_OK)
                    TRY(api->bt_add_kv_string(bt, name, text));
            }
        }
        while (api->thread_next_tls(thr, &by_tls_name, tls, &tls, &object, &cu) > 0) {
            TRY(api->var_value_int(tls, &value));
            TRY(api->bt_add_kv_int(bt, "tls_counter", value));
            TRY(api->bt_add_kv_string(bt, "tls_object", object));
        }
    }
    while (api->bt_next_global(bt, &by_version, g, &g, &object, &cu) > 0) {
        TRY(api->var_value_int(g, &value));
        TRY(api->address_read_string((uint64_t)value, version, sizeof version, NULL));
        TRY(api->bt_add_kv_string(bt, "version", version));
        TRY(api->bt_add_kv_string(bt, "version_cu", cu));
    }
    TRY(api->bt_add_kv_string(bt, "null_read",
                              api->address_read_raw(0, raw, sizeof raw) == PTSNAP_ERR_NOT_FOUND ? "nil" : "read"));
    TRY(api->bt_add_classifier(bt, "checked"));
    TRY(api->bt_add_classifier(bt, "checked"));
    TRY(api->annotate(bt.id, PTSNAP_ANNOTATION_JSON, "{\"json\": not json}"));
    TRY(api->annotate(bt.id, PTSNAP_ANNOTATION_JSON, "{\"other\": {}}"));
    return api->bt_add_kv_string(bt, "after_bad_json", "still running");
}

static int load(void *user)
{
    ptsnap_match m, globals;
    (void)user;
    TRY(api->register_backtrace(PTSNAP_EVENT_PREATTACH, preattach_cb, none, NULL));
    TRY(api->register_backtrace(PTSNAP_EVENT_ATTACH, attach_cb, none, NULL));
    TRY(api->register_thread(thread_cb, none, NULL));
    TRY(api->match_new(&m));
    TRY(api->match_add_frame_symbol(m, "walk", PTSNAP_MATCH_EXACT));
    TRY(api->register_frame(frame_cb, m, NULL));
    TRY(api->match_reset(m));
    TRY(api->match_add_variable_name(m, "corner", PTSNAP_MATCH_EXACT));
    TRY(api->match_add_variable_ptrace_type(m, PTSNAP_TYPE_TUPLE));
    TRY(api->register_variable(corner_cb, m, NULL));
    TRY(api->match_new(&globals));
    TRY(api->match_add_object(globals, "vars-cm", PTSNAP_MATCH_EXACT));
    TRY(api->match_add_variable_base_type(globals, "int", PTSNAP_MATCH_SUBSTR));
    TRY(api->register_variable(global_cb, globals, NULL));
    TRY(api->register_variable(count_cb, none, NULL));
    TRY(api->register_backtrace(PTSNAP_EVENT_POSTATTACH, postattach_cb, none, NULL));
    return 0;
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    return api->define("events", "events test", "1", load, NULL, NULL);
}
