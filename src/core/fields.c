/* The field catalogue (include/memwatch/fields.h) as a table. */
#include "memwatch/fields.h"

#include <string.h>

#define MW_FIELD_ROW(id, name, kind, src) {name, kind, src},
static const mw_field_info field_table[MW_F_COUNT] = {MW_FIELD_LIST(MW_FIELD_ROW)};
#undef MW_FIELD_ROW

const mw_field_info *mw_field_get(enum mw_field f)
{
    return &field_table[f];
}

int mw_field_find(const char *name)
{
    for (int i = 0; i < MW_F_COUNT; i++) {
        if (strcmp(field_table[i].name, name) == 0)
            return i;
    }
    return -1;
}
