/* The acl dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int acl_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_acl_ops = {
    .name = "acl",
    .create = acl_create,
};
