/* The ip6tset dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int ip6tset_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_ip6tset_ops = {
    .name = "ip6tset",
    .create = ip6tset_create,
};
