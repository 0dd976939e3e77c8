/* placeholder until the layer lands */
#include <stddef.h>
extern const int dbk_wire_placeholder;
const int dbk_wire_placeholder = 0;
