/* The function of ABI 1.2 in C: in postattach, appends "from C" to the
 * fault's reason and records what bt_add_fault_reason returned as kv
 * `c_reason` (0: added, -1: no thread faulted). */
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;
static const ptsnap_match none = {0};

static int postattach_cb(ptsnap_backtrace bt, void *user)
{
    (void)user;
    return api->bt_add_kv_int(bt, "c_reason", api->bt_add_fault_reason(bt, "from C"));
}

static int load(void *user)
{
    (void)user;
    if (!PTSNAP_API_HAS(api, bt_add_fault_reason))
        return 1;
    return api->register_backtrace(PTSNAP_EVENT_POSTATTACH, postattach_cb, none, NULL);
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    return api->define("fault_reason", "ABI 1.2 test", "1", load, NULL, NULL);
}
