/* The bundled Lua modules compiled into the executable (see embed.cmake). */
#ifndef MEMWATCH_APP_EMBEDDED_H
#define MEMWATCH_APP_EMBEDDED_H

#include <stddef.h>

typedef struct mw_embedded_script {
    const char *module;    /* require name: "memwatch", "memwatch.cli.ps" */
    const char *chunkname; /* "@memwatch/cli/ps.lua", so errors name the file */
    const unsigned char *data;
    size_t size;
} mw_embedded_script;

/* Terminated by an entry whose module is NULL. */
extern const mw_embedded_script mw_embedded_scripts[];

#endif
