/*
 * The tutorial's second module (tests/pmodules/tutorial_array_iter.lua)
 * in C: typed member access. In `attach` it finds the global
 * some_struct_g with bt_query and walks its STAILQ list through member
 * access (list.stqh_first, then linkage.stqe_next); in the variable event
 * of the global `papa` it iterates the array of structs papa.kids with
 * deref at each element's address and sizeof, reading members through any
 * number of pointers (nppp.c). It logs the lines the Lua module prints.
 *
 *     cc -shared -fPIC -Wall -Werror -I include -o array_iter.so array_iter.c
 */
#include <inttypes.h>
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;
/* some_struct_g's bt variable, kept from `attach` for the variable event. */
static ptsnap_btvar cached_ref_var;

/* The integer value of member `field` of `b` (a path of one member). */
static int member_int(ptsnap_btvar b, const char *field, int64_t *value, ptsnap_variable *var)
{
    ptsnap_btvar m;
    if (api->btvar_field(b, field, &m) || api->variable_from_bt(m, var))
        return -1;
    return api->var_value_int(*var, value);
}

static int attach_cb(ptsnap_backtrace bt, void *user)
{
    ptsnap_btvar list, n;
    ptsnap_variable v;
    int64_t address;

    (void)bt;
    (void)user;
    if (api->bt_query("some_struct_g", "crash", "crash.c", &cached_ref_var) || api->keep(cached_ref_var.id) ||
        api->btvar_field(cached_ref_var, "list", &list) || api->btvar_field(list, "stqh_first", &n) ||
        api->variable_from_bt(n, &v) || api->var_value_int(v, &address))
        return 1;
    while (address != 0) {
        ptsnap_btvar linkage;
        ptsnap_variable val;
        const char *name;
        int64_t value;
        uint64_t at;
        if (member_int(n, "v", &value, &val) || api->var_address(val, &at) || api->var_name(val, &name))
            return 1;
        ptsnap_logf(api, PTSNAP_LOG_INFO, "[%" PRIx64 "] %s: %d", at, name, (int)value);
        if (api->btvar_field(n, "linkage", &linkage) || api->btvar_field(linkage, "stqe_next", &n) ||
            api->variable_from_bt(n, &v) || api->var_value_int(v, &address))
            return 1;
    }
    return 0;
}

static int variable_cb(ptsnap_variable var, ptsnap_btvar raw, void *user)
{
    ptsnap_variable v;
    ptsnap_btvar pointee;
    int64_t n, addr, i;
    uint64_t size;

    (void)var;
    (void)user;
    if (member_int(raw, "len", &n, &v) || member_int(raw, "kids", &addr, &v) ||
        api->deref(cached_ref_var, 0, &pointee) || api->btvar_sizeof(pointee, &size))
        return 1;
    ptsnap_logf(api, PTSNAP_LOG_INFO, "addr: %" PRIx64 ", len: %d, size: %d", (uint64_t)addr, (int)n, (int)size);
    for (i = 0; i < n; i++) {
        uint64_t na = (uint64_t)addr + (uint64_t)i * size;
        ptsnap_btvar elem, b, nppp;
        int64_t a, c;
        double d;
        ptsnap_logf(api, PTSNAP_LOG_INFO, "--- iter %d (%" PRIx64 ")---", (int)i, na);
        if (api->deref(cached_ref_var, na, &elem) || member_int(elem, "a", &a, &v) ||
            api->btvar_field(elem, "b", &b) || api->variable_from_bt(b, &v) || api->var_value_double(v, &d) ||
            api->btvar_field(elem, "nppp", &nppp) || member_int(nppp, "c", &c, &v))
            return 1;
        ptsnap_logf(api, PTSNAP_LOG_INFO, "a: %d", (int)a);
        ptsnap_logf(api, PTSNAP_LOG_INFO, "b: %f", d);
        /* Member access follows nppp's three pointers to the struct. */
        ptsnap_logf(api, PTSNAP_LOG_INFO, "nppp.c: %d", (int)c);
    }
    return 0;
}

static int pm_load(void *user)
{
    ptsnap_match m;
    (void)user;
    if (api->match_new(&m) || api->match_add_object(m, "crash", PTSNAP_MATCH_EXACT) ||
        api->match_add_file(m, "crash.c", PTSNAP_MATCH_EXACT) ||
        api->match_add_variable_base_type(m, "array_struct", PTSNAP_MATCH_SUBSTR) ||
        api->match_add_variable_ptrace_type(m, PTSNAP_TYPE_TUPLE) ||
        api->match_add_variable_name(m, "papa", PTSNAP_MATCH_SUBSTR) || api->register_variable(variable_cb, m, NULL))
        return 1;
    return api->register_backtrace(PTSNAP_EVENT_ATTACH, attach_cb, (ptsnap_match){0}, NULL);
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    return api->define("array_iter_c", "tutorial array iteration (C)", "1.0", pm_load, NULL, NULL);
}
