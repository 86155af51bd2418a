/* The debug file candidates of a binary, in the order the standard search uses. */
#include "debugfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool add(struct debug_candidate *ret, size_t *n, bool trusted, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static bool add(struct debug_candidate *ret, size_t *n, bool trusted, const char *fmt, ...) {
        if (*n >= PROTO_MAX_CANDIDATES)
                return false;
        va_list ap;
        va_start(ap, fmt);
        int len = vsnprintf(ret[*n].path, sizeof(ret[*n].path), fmt, ap);
        va_end(ap);
        if (len < 0 || (size_t) len >= sizeof(ret[*n].path))
                return false;
        ret[*n].trusted = trusted;
        (*n)++;
        return true;
}

static void hex_id(const uint8_t *build_id, size_t len, char *ret) {
        static const char digits[] = "0123456789abcdef";
        ret[0] = '\0';
        for (size_t i = 0; i < len && i < PROTO_MAX_BUILD_ID; i++) {
                ret[2 * i] = digits[build_id[i] >> 4];
                ret[2 * i + 1] = digits[build_id[i] & 15];
                ret[2 * i + 2] = '\0';
        }
}

size_t debugfile_candidates(const char *maps_path, size_t path_len, const uint8_t *build_id,
                            size_t build_id_len, const char *debuglink,
                            struct debug_candidate *ret) {
        char id[2 * PROTO_MAX_BUILD_ID + 1];
        size_t n = 0;
        hex_id(build_id, build_id_len, id);
        /* The directory of the binary, as the process sees it; the kernel writes maps
         * paths absolute and without "." or "..", and a name is one component. */
        const char *slash = path_len > 0 ? memrchr(maps_path, '/', path_len) : NULL;
        bool have_dir = slash && maps_path[0] == '/';
        int dir_len = have_dir ? (int) (slash - maps_path) : 0;
        bool link = debuglink[0] != '\0' && proto_is_file_name(debuglink, strlen(debuglink));

        if (build_id_len >= 2)
                add(ret, &n, true, DEBUGFILE_ROOT "/.build-id/%.2s/%s.debug", id, id + 2);
        if (link && have_dir)
                add(ret, &n, true, DEBUGFILE_ROOT "%.*s/%s", dir_len, maps_path, debuglink);
        if (build_id_len >= 2)
                add(ret, &n, false, DEBUGFILE_ROOT "/.build-id/%.2s/%s.debug", id, id + 2);
        if (link && have_dir) {
                add(ret, &n, false, "%.*s/%s", dir_len, maps_path, debuglink);
                add(ret, &n, false, "%.*s/.debug/%s", dir_len, maps_path, debuglink);
                add(ret, &n, false, DEBUGFILE_ROOT "%.*s/%s", dir_len, maps_path, debuglink);
        }
        return n;
}

/* An absolute path with no empty, "." or ".." component: one that cannot climb. */
static bool clean_path(const char *p) {
        if (p[0] != '/')
                return false;
        while (*p == '/') {
                const char *part = p + 1, *end = strchrnul(part, '/');
                size_t len = (size_t) (end - part);
                if (len == 0 || (len == 1 && part[0] == '.') ||
                    (len == 2 && part[0] == '.' && part[1] == '.'))
                        return false;
                p = end;
        }
        return *p == '\0';
}

size_t debugfile_alt_candidates(const char *altname, const uint8_t *build_id,
                                size_t build_id_len, struct debug_candidate *ret) {
        char id[2 * PROTO_MAX_BUILD_ID + 1];
        size_t n = 0;
        const char *root = DEBUGFILE_ROOT "/";
        hex_id(build_id, build_id_len, id);
        /* Only a plain absolute path under the root: no "." or ".." to climb out. */
        if (strncmp(altname, root, strlen(root)) == 0 && clean_path(altname))
                add(ret, &n, true, "%s", altname);
        if (build_id_len >= 2)
                add(ret, &n, true, DEBUGFILE_ROOT "/.build-id/%.2s/%s.debug", id, id + 2);
        return n;
}
