/* An entry point that defines the module, then fails. */
#include <ptsnap/pmodule.h>

static int load(void *user)
{
    (void)user;
    return 0;
}

PTSNAP_PMODULE_INIT(api)
{
    api->define("init_fails", NULL, NULL, load, NULL, NULL);
    return 7;
}
