/* The ip4trie dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int ip4trie_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_ip4trie_ops = {
    .name = "ip4trie",
    .create = ip4trie_create,
};
