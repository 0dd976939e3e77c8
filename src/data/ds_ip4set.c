/* The ip4set dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int ip4set_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_ip4set_ops = {
    .name = "ip4set",
    .create = ip4set_create,
};
