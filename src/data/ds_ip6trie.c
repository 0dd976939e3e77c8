/* The ip6trie dataset type (stub until implemented). */
#include "common/err.h"
#include "data/dataset.h"

static int ip6trie_create(struct dataset *ds)
{
    (void)ds;
    return ERR_UNSUPP;
}

const struct dataset_ops ds_ip6trie_ops = {
    .name = "ip6trie",
    .create = ip6trie_create,
};
