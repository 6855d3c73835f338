/* A module built for pmodule ABI 2.0 (not this header's): ptsnap must
 * refuse it before calling anything of it. */
#include <stdlib.h>
#include <ptsnap/pmodule.h>

__attribute__((visibility("default"))) const struct ptsnap_pmodule_abi ptsnap_pmodule_abi = {2, 0};

__attribute__((visibility("default"))) int ptsnap_pmodule_init(const struct ptsnap_api *api);
__attribute__((visibility("default"))) int ptsnap_pmodule_init(const struct ptsnap_api *api)
{
    (void)api;
    abort();
}
