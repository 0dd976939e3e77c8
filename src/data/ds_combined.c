/* The combined dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int combined_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_combined_ops = {
    .name = "combined",
    .create = combined_create,
};
