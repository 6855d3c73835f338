/* A module that misbehaves in the callback named by its argument
 * `--module misbehave:how=crash|loop|abort` (in the frame event, while the
 * target is stopped). */
#include <stdlib.h>
#include <string.h>
#include <ptsnap/pmodule.h>

static const struct ptsnap_api *api;
static const char *how = "crash";
static char how_buf[16];

static int frame_cb(ptsnap_frame fr, void *user)
{
    (void)fr;
    (void)user;
    if (!strcmp(how_buf, "loop"))
        for (;;)
            ;
    if (!strcmp(how_buf, "abort"))
        abort();
    return *(volatile int *)user;
}

static int load(void *user)
{
    (void)user;
    if (api->config_option("how", &how) == PTSNAP_OK)
        strncpy(how_buf, how, sizeof how_buf - 1);
    return api->register_frame(frame_cb, (ptsnap_match){0}, NULL);
}

PTSNAP_PMODULE_INIT(table)
{
    api = table;
    strcpy(how_buf, "crash");
    return api->define("misbehave", NULL, NULL, load, NULL, NULL);
}
