/* placeholder until the layer lands */
#include <stddef.h>
extern const int dbk_server_placeholder;
const int dbk_server_placeholder = 0;
