/* placeholder until the layer lands */
#include <stddef.h>
extern const int dbk_data_placeholder;
const int dbk_data_placeholder = 0;
