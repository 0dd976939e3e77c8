/* The ip4tset dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int ip4tset_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_ip4tset_ops = {
    .name = "ip4tset",
    .create = ip4tset_create,
};
