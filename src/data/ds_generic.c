/* The generic dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int generic_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_generic_ops = {
    .name = "generic",
    .create = generic_create,
};
