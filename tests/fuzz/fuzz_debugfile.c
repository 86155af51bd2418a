/* Fuzz target: where memprofd looks for a binary's debug file.  The maps path comes
 * from the target (/proc/PID/maps), the debuglink and the dwz alternate name from the
 * target's ELF through the helper; the candidates are opened as root when trusted.  So
 * beyond not crashing: every candidate is a NUL-terminated absolute path with no "."
 * or ".." component, and a trusted one lies under DEBUGFILE_ROOT.  Input: byte 0 the
 * build id's length, then the build id, then maps path, debuglink and alternate name
 * separated by NUL bytes. */
#include <stdlib.h>
#include <string.h>

#include "debugfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path the kernel could never write: empty, relative, or with a "." or ".." part. */
static int climbs(const char *p)
{
        if (p[0] != '/')
                return 1;
        for (const char *c = p; *c; c++) {
                if (c[0] != '/')
                        continue;
                if ((c[1] == '.' && (c[2] == '/' || c[2] == '\0')) ||
                    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0')))
                        return 1;
        }
        return 0;
}

static void check(const struct debug_candidate *c, size_t n, int maps_clean)
{
        if (n > PROTO_MAX_CANDIDATES)
                abort();
        for (size_t i = 0; i < n; i++) {
                size_t len = strnlen(c[i].path, sizeof(c[i].path));

                if (len == sizeof(c[i].path) || len == 0)
                        abort();
                /* a maps path is the kernel's: clean.  Anything built on a clean one
                 * must stay clean; a trusted one must stay under the root. */
                if (maps_clean && climbs(c[i].path))
                        abort();
                if (c[i].trusted && strncmp(c[i].path, DEBUGFILE_ROOT "/",
                                            strlen(DEBUGFILE_ROOT) + 1) != 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct debug_candidate *c;
        uint8_t build_id[PROTO_MAX_BUILD_ID];
        size_t id_len, n;
        char *text, *maps, *link, *alt;

        if (size < 1)
                return 0;
        id_len = data[0] % (PROTO_MAX_BUILD_ID + 1);
        if (size - 1 < id_len)
                return 0;
        memcpy(build_id, data + 1, id_len);
        text = calloc(1, size - 1 - id_len + 3);
        c = calloc(PROTO_MAX_CANDIDATES, sizeof(*c));
        if (!text || !c)
                goto out;
        memcpy(text, data + 1 + id_len, size - 1 - id_len);
        maps = text;
        link = maps + strlen(maps) + 1;
        if (link > text + (size - 1 - id_len))
                link = text + (size - 1 - id_len) + 1;
        alt = link + strlen(link) + 1;
        if (alt > text + (size - 1 - id_len) + 1)
                alt = text + (size - 1 - id_len) + 2;

        n = debugfile_candidates(maps, strlen(maps), build_id, id_len, link, c);
        check(c, n, !climbs(maps));
        n = debugfile_alt_candidates(alt, build_id, id_len, c);
        check(c, n, 1); /* built on nothing from outside but a checked name */
out:
        free(c);
        free(text);
        return 0;
}
