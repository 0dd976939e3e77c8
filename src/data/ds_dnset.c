/* The dnset dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int dnset_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_dnset_ops = {
    .name = "dnset",
    .create = dnset_create,
};
