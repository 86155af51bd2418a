/* Resolving a batch of addresses: grouped by file; each file opened as the reader and
 * identified by fstat; answers from the cache, and what it lacks from a helper in
 * requests of up to PROTO_MAX_ADDRS addresses. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caller.h"
#include "debugfile.h"
#include "intern.h"
#include "memprof/addrset.h"
#include "memo.h"
#include "prefetch.h"

/* The files behind one mapped file: the file itself and its debug candidates, all
 * opened as the reader (or as root from the host's /usr/lib/debug). */
struct fileset {
        int main_fd;
        struct file_id main_id;
        bool candidates_open;
        size_t n;
        int fds[PROTO_MAX_CANDIDATES];
        struct file_id ids[PROTO_MAX_CANDIDATES];
};

static void fileset_close(struct fileset *set) {
        if (set->main_fd >= 0)
                close(set->main_fd);
        for (size_t i = 0; i < set->n; i++)
                close(set->fds[i]);
        *set = (struct fileset){ .main_fd = -1 };
}

/* The first thing worth a log line, for sym_process_problem. */
static void set_problem(struct sym_process *sp, size_t file, const char *why) {
        char buf[1024];
        if (sp->problem)
                return;
        snprintf(buf, sizeof(buf), "%s: %s", sp->mappings[sp->files[file].mapping].path, why);
        sp->problem = intern_str(sp->strings, buf);
}

/* /proc/PID/root, opened as the reader, for resolving paths inside the process's root. */
static int root_fd(struct sym_process *sp) {
        if (sp->root_fd < 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/root", (int) sp->pid);
                sp->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        return sp->root_fd;
}

/* The mapped file as the process sees it: map_files works for deleted files and across
 * mount namespaces; the path inside its root is the fallback. */
static int open_main(struct sym_process *sp, size_t file, struct fileset *set) {
        const struct sym_mapping *m = &sp->mappings[sp->files[file].mapping];
        const struct mapping_info *info = &sp->info[sp->files[file].mapping];
        struct caller_saved saved;
        char path[96];
        int r = caller_enter(&sp->caller, &saved);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int) sp->pid,
                 (unsigned long long) m->start, (unsigned long long) m->limit);
        r = caller_open(-1, path, &set->main_fd, &set->main_id);
        /* A deleted file's path may now name a different file. */
        if (r < 0 && r != -EINVAL && !info->deleted && root_fd(sp) >= 0) {
                char *p = strndup(m->path, info->path_len);
                r = p ? caller_open(sp->root_fd, p, &set->main_fd, &set->main_id) : -ENOMEM;
                free(p);
        }
        caller_leave(&saved);
        if (r < 0)
                set->main_fd = -1;
        return r;
}

static int open_candidates(struct sym_process *sp, size_t file, const uint8_t *build_id,
                           size_t build_id_len, const char *debuglink, struct fileset *set) {
        const size_t mi = sp->files[file].mapping;
        struct debug_candidate c[PROTO_MAX_CANDIDATES];
        size_t n = debugfile_candidates(sp->mappings[mi].path, sp->info[mi].path_len, build_id,
                                        build_id_len, debuglink, c);
        struct caller_saved saved;
        set->candidates_open = true;
        for (size_t i = 0; i < n; i++) {
                int fd;
                struct file_id id;
                int r = 0;
                if (c[i].trusted) {
                        r = caller_open(-1, c[i].path, &fd, &id);
                } else {
                        r = caller_enter(&sp->caller, &saved);
                        if (r < 0)
                                return r;
                        r = root_fd(sp) >= 0 ? caller_open(sp->root_fd, c[i].path, &fd, &id)
                                             : -ENOENT;
                        caller_leave(&saved);
                }
                if (r < 0)
                        continue;
                /* The same file twice (a link, or the binary naming itself) once. */
                bool dup = fileid_equal(&id, &set->main_id);
                for (size_t j = 0; j < set->n && !dup; j++)
                        dup = fileid_equal(&id, &set->ids[j]);
                if (dup) {
                        close(fd);
                        continue;
                }
                set->fds[set->n] = fd;
                set->ids[set->n++] = id;
        }
        return 0;
}

static int helper_of(struct sym_process *sp, struct helper **ret) {
        if (!sp->helper) {
                int r = pool_acquire(symbolizer_pool(sp->s), sp->deadline_ns, &sp->helper);
                if (r < 0)
                        return r;
        }
        *ret = sp->helper;
        return 0;
}

static int64_t request_deadline(const struct sym_process *sp) {
        int64_t d = proto_now_ns() + POOL_REQUEST_NS;
        return d < sp->deadline_ns ? d : sp->deadline_ns;
}

/* Remembers that the helper failed on this file, so that the next read does not feed
 * it the same bytes: the file's frames stay unsymbolized while it is cached. */
static void poison(struct sym_process *sp, size_t file, const struct fileset *set,
                   const char *why) {
        struct sym_entry *e = sp->files[file].entry;
        if (e) {
                atomic_store(&e->poisoned, true);
                return;
        }
        if (set->main_fd < 0 || entry_new(&set->main_id, NULL, &e) < 0)
                return;
        e->problem = intern_str(e->strings, why);
        e = cache_insert(sp->s, e);
        atomic_store(&e->poisoned, true);
        cache_release(sp->s, e);
}

/* One request to the helper; a helper failure becomes -EIO with the reason kept. */
static int call(struct sym_process *sp, size_t file, const struct fileset *set,
                enum proto_type type, const void *payload, size_t len, const int *fds,
                size_t nfds, uint8_t **ret_reply, size_t *ret_len) {
        struct helper *h;
        int sig, r = helper_of(sp, &h);
        if (r < 0) {
                set_problem(sp, file, r == -EAGAIN ? "the symbolizer is restarting too often"
                                    : r == -ETIMEDOUT ? "no symbolizer became free in time"
                                                      : "the symbolizer could not be started");
                return -EIO;
        }
        r = pool_call(symbolizer_pool(sp->s), h, type, payload, len, fds, nfds,
                      request_deadline(sp), ret_reply, ret_len, &sig);
        if (r == 0)
                return 0;
        char why[128];
        switch (r) {
        case -ETIMEDOUT:
                snprintf(why, sizeof(why), "the symbolizer took too long and was killed");
                break;
        case -ECHILD:
                snprintf(why, sizeof(why), "the symbolizer died (%s)",
                         sig ? strsignal(sig) : "exited");
                break;
        case -EBADMSG:
                snprintf(why, sizeof(why), "the symbolizer broke the protocol");
                break;
        default:
                snprintf(why, sizeof(why), "the symbolizer was killed");
                break;
        }
        if (r != -EPIPE)
                poison(sp, file, set, why);
        set_problem(sp, file, why);
        return -EIO;
}

static int send_open(struct sym_process *sp, size_t file, const struct fileset *set,
                     uint64_t id, struct proto_open_reply *ret) {
        uint8_t *reply;
        size_t len;
        int r = call(sp, file, set, PROTO_OPEN, &id, sizeof(id), &set->main_fd, 1, &reply, &len);
        if (r < 0)
                return r;
        r = proto_parse_open_reply(reply, len, ret);
        free(reply);
        return r < 0 ? -EIO : 0;
}

static int send_attach(struct sym_process *sp, size_t file, const struct fileset *set,
                       uint64_t id, const int *fds, size_t nfds,
                       struct proto_attach_reply *ret) {
        uint8_t *reply;
        size_t len;
        int r = call(sp, file, set, PROTO_ATTACH, &id, sizeof(id), fds, nfds, &reply, &len);
        if (r < 0)
                return r;
        r = proto_parse_attach_reply(reply, len, nfds, ret);
        free(reply);
        return r < 0 ? -EIO : 0;
}

/* The dwz alternate file of a binary's DWARF: candidates opened as root from the host's
 * debug root, sent with ALT; the reply replaces the ATTACH one. */
static int send_alt(struct sym_process *sp, size_t file, const struct fileset *set,
                    uint64_t id, const char *altname, const uint8_t *alt_id,
                    size_t alt_id_len, struct proto_attach_reply *ret) {
        struct debug_candidate c[PROTO_MAX_CANDIDATES];
        int fds[PROTO_MAX_CANDIDATES];
        size_t nfds = 0, n = debugfile_alt_candidates(altname, alt_id, alt_id_len, c);
        for (size_t i = 0; i < n; i++) {
                struct file_id fid;
                if (caller_open(-1, c[i].path, &fds[nfds], &fid) == 0)
                        nfds++;
        }
        uint8_t *reply;
        size_t len;
        int r = call(sp, file, set, PROTO_ALT, &id, sizeof(id), fds, nfds, &reply, &len);
        for (size_t i = 0; i < nfds; i++)
                close(fds[i]);
        if (r < 0)
                return r;
        r = proto_parse_attach_reply(reply, len, nfds, ret);
        free(reply);
        return r < 0 || (ret->flags & PROTO_NEEDS_ALT) ? -EIO : 0;
}

/* An entry that answers nothing, with the helper's reason. */
static struct sym_entry *refused(struct sym_process *sp, size_t file, const struct fileset *set,
                                 const struct proto_status *st) {
        struct sym_entry *e;
        if (entry_new(&set->main_id, NULL, &e) < 0)
                return NULL;
        e->problem = intern_str(e->strings, st->problem[0] ? st->problem : strerror(st->error));
        /* Not an ELF file is no news; a refused one is worth a log line. */
        if (st->error != ENOEXEC)
                set_problem(sp, file, e->problem);
        return cache_insert(sp->s, e);
}

/* First look at a file (or one whose debug candidates changed): OPEN, candidates, ATTACH,
 * and a new entry.  *ret is NULL if it cannot be symbolized. */
static int load_new(struct sym_process *sp, size_t file, struct fileset *set,
                    struct sym_entry *known, struct sym_entry **ret) {
        struct proto_open_reply o;
        struct proto_attach_reply a;
        uint64_t id = symbolizer_next_id(sp->s);
        int r = send_open(sp, file, set, id, &o);
        if (r < 0)
                return r;
        if (o.status.error) {
                *ret = refused(sp, file, set, &o.status);
                return 0;
        }
        if ((o.flags & PROTO_NEEDS_DEBUG) && !set->candidates_open &&
            (r = open_candidates(sp, file, o.build_id, o.build_id_len, o.debuglink, set)) < 0)
                return r;
        size_t n = (o.flags & PROTO_NEEDS_DEBUG) ? set->n : 0;
        r = send_attach(sp, file, set, id, set->fds, n, &a);
        if (r < 0)
                return r;
        struct proto_attach_reply alt = a;
        if (!a.status.error && (a.flags & PROTO_NEEDS_ALT) &&
            (r = send_alt(sp, file, set, id, a.altname, a.alt_id, a.alt_id_len, &alt)) < 0)
                return r;
        if (a.status.error || alt.status.error) {
                *ret = refused(sp, file, set, a.status.error ? &a.status : &alt.status);
                return 0;
        }
        struct sym_entry *e;
        r = entry_new(&set->main_id, a.chosen >= 0 ? &set->ids[a.chosen] : NULL, &e);
        if (r < 0)
                return r;
        e->id = id;
        memcpy(e->build_id_raw, o.build_id, o.build_id_len);
        e->build_id_len = o.build_id_len;
        memcpy(e->debuglink, o.debuglink, sizeof(e->debuglink));
        e->needs_debug = (o.flags & PROTO_NEEDS_DEBUG) != 0;
        e->has_functions = alt.flags & PROTO_HAS_FUNCTIONS;
        e->has_filenames = alt.flags & PROTO_HAS_FILENAMES;
        e->has_line_numbers = alt.flags & PROTO_HAS_LINE_NUMBERS;
        e->has_inline_frames = alt.flags & PROTO_HAS_INLINE_FRAMES;
        if (a.flags & PROTO_NEEDS_ALT) {
                e->has_alt = true;
                memcpy(e->altname, a.altname, sizeof(e->altname));
                memcpy(e->alt_id, a.alt_id, a.alt_id_len);
                e->alt_id_len = a.alt_id_len;
        }
        if (o.build_id_len > 0) {
                char hex[2 * PROTO_MAX_BUILD_ID + 1];
                for (size_t i = 0; i < o.build_id_len; i++)
                        snprintf(hex + 2 * i, 3, "%02x", o.build_id[i]);
                e->build_id = intern_str(e->strings, hex);
        }
        for (size_t i = 0; i < n; i++) {
                if (a.rejected & (1u << i))
                        entry_add_verdict(e, &set->ids[i], false);
                else if ((int) i == a.chosen)
                        entry_add_verdict(e, &set->ids[i], true);
        }
        if (known && known != e) {
                pthread_mutex_lock(&known->lock);
                for (size_t i = 0; i < e->nverdicts; i++)
                        entry_add_verdict(known, &e->verdicts[i].id, e->verdicts[i].match);
                pthread_mutex_unlock(&known->lock);
        }
        struct sym_entry *in = cache_insert(sp->s, e);
        if (in == e)
                cache_set_loaded(sp->s, e, sp->helper, true);
        *ret = in;
        return 0;
}

/* The entry for a file seen before, if its debug file is decided without the helper:
 * candidates walked in order, each one's verdict known. */
static struct sym_entry *known_entry(struct sym_process *sp, size_t file, struct fileset *set,
                                     struct sym_entry *any) {
        if (!any->needs_debug)
                return cache_acquire(sp->s, &set->main_id, NULL);
        if (!set->candidates_open &&
            open_candidates(sp, file, any->build_id_raw, any->build_id_len, any->debuglink,
                            set) < 0)
                return NULL;
        const struct file_id *debug = NULL;
        pthread_mutex_lock(&any->lock);
        for (size_t i = 0; i < set->n && !debug; i++) {
                int v = entry_verdict(any, &set->ids[i]);
                if (v < 0) {
                        pthread_mutex_unlock(&any->lock);
                        return NULL;
                }
                if (v == 1)
                        debug = &set->ids[i];
        }
        pthread_mutex_unlock(&any->lock);
        return cache_acquire(sp->s, &set->main_id, debug);
}

static int find_entry(struct sym_process *sp, size_t file, struct fileset *set) {
        struct sp_file *f = &sp->files[file];
        f->tried = true;
        if (open_main(sp, file, set) < 0)
                return 0; /* unreadable for this reader: its frames stay addresses */
        struct sym_entry *any = cache_find_file(sp->s, &set->main_id), *e = NULL;
        int r = 0;
        if (any && (any->problem || atomic_load(&any->poisoned)))
                e = any, any = NULL;
        else if (any)
                e = known_entry(sp, file, set, any);
        if (!e)
                r = load_new(sp, file, set, any, &e);
        cache_release(sp->s, any);
        f->entry = e;
        if (e && !e->problem) {
                for (size_t i = 0; i < sp->n; i++) {
                        if (sp->info[i].file != (int) file)
                                continue;
                        struct sym_mapping *m = &sp->mappings[i];
                        m->build_id = e->build_id;
                        m->has_functions = e->has_functions;
                        m->has_filenames = e->has_filenames;
                        m->has_line_numbers = e->has_line_numbers;
                        m->has_inline_frames = e->has_inline_frames;
                }
        }
        return r;
}

/* Makes sure the helper has e loaded: OPEN and ATTACH with the debug file e was made with. */
static int load_known(struct sym_process *sp, size_t file, struct fileset *set,
                      struct sym_entry *e) {
        struct proto_open_reply o;
        struct proto_attach_reply a;
        if (set->main_fd < 0 && open_main(sp, file, set) < 0)
                return -ENOENT;
        if (!fileid_equal(&set->main_id, &e->file))
                return -ESTALE;
        if (e->has_debug && !set->candidates_open &&
            open_candidates(sp, file, e->build_id_raw, e->build_id_len, e->debuglink, set) < 0)
                return -ENOENT;
        int debug_fd = -1;
        for (size_t i = 0; i < set->n && e->has_debug; i++)
                if (fileid_equal(&set->ids[i], &e->debug))
                        debug_fd = set->fds[i];
        if (e->has_debug && debug_fd < 0)
                return -ESTALE;
        int r = send_open(sp, file, set, e->id, &o);
        if (r == 0 && !o.status.error)
                r = send_attach(sp, file, set, e->id, &debug_fd, e->has_debug ? 1 : 0, &a);
        if (r < 0)
                return r;
        if (o.status.error || a.status.error || a.chosen != (e->has_debug ? 0 : -1) ||
            !(a.flags & PROTO_NEEDS_ALT) != !e->has_alt)
                return -ESTALE;
        if (e->has_alt) {
                struct proto_attach_reply alt;
                r = send_alt(sp, file, set, e->id, e->altname, e->alt_id, e->alt_id_len, &alt);
                if (r < 0)
                        return r;
                if (alt.status.error)
                        return -ESTALE;
        }
        cache_set_loaded(sp->s, e, sp->helper, true);
        return 0;
}

/* The strings of one answer, interned where they will live. */
static const char *keep(struct intern *in, const struct proto_resolve_reply *rep, uint32_t idx) {
        if (idx == 0)
                return NULL;
        return intern_strn(in, rep->string_at[idx - 1], rep->string_len[idx - 1]);
}

static void store(struct sym_process *sp, struct sym_entry *e,
                  const struct proto_resolve_reply *rep,
                  const uint64_t *addrs, const uint64_t *offs) {
        size_t k = 0;
        pthread_mutex_lock(&e->lock);
        bool in_entry = intern_bytes(e->strings) + memo_bytes(e->memo) < ENTRY_MAX_BYTES;
        struct intern *in = in_entry ? e->strings : sp->strings;
        for (uint32_t i = 0; i < rep->n; i++) {
                struct sym_line lines[SYM_MAX_INLINE];
                size_t n = rep->nlines[i];
                for (size_t j = 0; j < n; j++, k++) {
                        const struct proto_line *l = &rep->lines[k];
                        lines[j] = (struct sym_line){
                                .function = keep(in, rep, l->function),
                                .system_name = keep(in, rep, l->system_name),
                                .file = keep(in, rep, l->file),
                                .line = l->line,
                                .start_line = l->start_line,
                        };
                }
                if (in_entry)
                        memo_put(e->memo, offs[i], lines, n);
                memo_put(sp->results, addrs[i], lines, n);
        }
        size_t bytes = intern_bytes(e->strings) + memo_bytes(e->memo);
        pthread_mutex_unlock(&e->lock);
        cache_account(sp->s, e, bytes);
}

/* Asks the helper about up to PROTO_MAX_ADDRS offsets of one file. */
static int resolve_batch(struct sym_process *sp, size_t file, struct fileset *set,
                         struct sym_entry *e, const uint64_t *addrs, const uint64_t *offs,
                         uint32_t n) {
        size_t len = 16 + (size_t) n * 8;
        uint8_t *req = malloc(len), *reply = NULL;
        if (!req)
                return -ENOMEM;
        memcpy(req, &e->id, 8);
        memcpy(req + 8, &n, 4);
        memset(req + 12, 0, 4);
        memcpy(req + 16, offs, (size_t) n * 8);
        int r = 0;
        for (int attempt = 0; attempt < 2; attempt++) {
                struct helper *h;
                if ((r = helper_of(sp, &h)) < 0 ||
                    (!cache_loaded(sp->s, e, h) && (r = load_known(sp, file, set, e)) < 0))
                        break;
                size_t rlen;
                r = call(sp, file, set, PROTO_RESOLVE, req, len, NULL, 0, &reply, &rlen);
                if (r < 0)
                        break;
                struct proto_resolve_reply rep;
                /* rep points into reply: both go together. */
                r = proto_parse_resolve_reply(reply, rlen, n, &rep);
                if (r < 0) {
                        free(reply);
                        r = -EIO;
                        break;
                }
                bool again = rep.status.error == ENOENT && attempt == 0;
                if (rep.status.error == 0)
                        store(sp, e, &rep, addrs, offs);
                proto_resolve_reply_free(&rep);
                free(reply);
                reply = NULL;
                /* The helper let it go (its own cache is bounded): load it again. */
                if (again) {
                        cache_set_loaded(sp->s, e, h, false);
                        continue;
                }
                break;
        }
        free(req);
        /* A file that changed or vanished since: its frames stay addresses. */
        return r == -ESTALE || r == -ENOENT ? 0 : r;
}

static void store_unknown(struct sym_process *sp, const uint64_t *addrs, size_t n) {
        for (size_t i = 0; i < n; i++)
                memo_put(sp->results, addrs[i], NULL, 0);
}

/* Resolves addrs (all in this file, not known yet) into sp->results. */
static int resolve_file(struct sym_process *sp, size_t file, uint64_t *addrs, size_t n) {
        struct fileset set = { .main_fd = -1 };
        struct sp_file *f = &sp->files[file];
        int r = 0;
        if (!f->tried && (r = find_entry(sp, file, &set)) < 0)
                goto out;
        struct sym_entry *e = f->entry;
        if (!e || e->problem || atomic_load(&e->poisoned)) {
                store_unknown(sp, addrs, n);
                goto out;
        }
        /* What the entry knows, from memory; the rest, in offset order, from the helper. */
        uint64_t *offs = malloc((n ? n : 1) * sizeof(*offs));
        if (!offs) {
                r = -ENOMEM;
                goto out;
        }
        size_t misses = 0;
        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < n; i++) {
                const struct sym_mapping *m = &sp->mappings[process_find_mapping(sp, addrs[i])];
                uint64_t off = addrs[i] - m->start + m->offset;
                struct sym_line lines[SYM_MAX_INLINE];
                size_t k;
                if (memo_get(e->memo, off, lines, &k)) {
                        memo_put(sp->results, addrs[i], lines, k);
                } else {
                        addrs[misses] = addrs[i];
                        offs[misses++] = off;
                }
        }
        pthread_mutex_unlock(&e->lock);
        for (size_t i = 0; i < misses && r == 0; i += PROTO_MAX_ADDRS) {
                size_t left = misses - i;
                uint32_t k = (uint32_t) (left < PROTO_MAX_ADDRS ? left : PROTO_MAX_ADDRS);
                r = resolve_batch(sp, file, &set, e, addrs + i, offs + i, k);
        }
        free(offs);
out:
        fileset_close(&set);
        return r;
}

int sym_process_prefetch(struct sym_process *sp, const uint64_t *addrs, size_t n) {
        if (!sp || (n > 0 && !addrs))
                return -EINVAL;
        sp->prefetched = true;
        return prefetch_batch(sp, addrs, n);
}

int prefetch_batch(struct sym_process *sp, const uint64_t *addrs, size_t n) {
        struct addrset seen = { 0 };
        size_t *count = calloc(sp->nfiles + 1, sizeof(*count));
        uint64_t *by_file = malloc((n + 1) * sizeof(*by_file));
        int *file_of = malloc((n + 1) * sizeof(*file_of));
        uint64_t *uniq = malloc((n + 1) * sizeof(*uniq));
        int r = -ENOMEM;
        if (!count || !by_file || !file_of || !uniq)
                goto out;

        /* Unique, unknown addresses of symbolizable files, counted per file. */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                struct sym_line l[SYM_MAX_INLINE];
                size_t nl;
                int m = process_find_mapping(sp, addrs[i]);
                if (m < 0 || memo_get(sp->results, addrs[i], l, &nl))
                        continue;
                /* Anonymous code ([vdso], a JIT's): known to be unknown. */
                if (sp->info[m].file < 0) {
                        memo_put(sp->results, addrs[i], NULL, 0);
                        continue;
                }
                int added = addrset_add(&seen, addrs[i]);
                if (added < 0) {
                        r = added;
                        goto out;
                }
                if (added == 0)
                        continue;
                uniq[k] = addrs[i];
                file_of[k++] = sp->info[m].file;
                count[sp->info[m].file + 1]++;
        }
        for (size_t f = 0; f < sp->nfiles; f++)
                count[f + 1] += count[f];
        for (size_t i = 0; i < k; i++)
                by_file[count[file_of[i]]++] = uniq[i];
        /* count[f] is now where file f's addresses end. */

        sp->root_fd = -1;
        sp->deadline_ns = proto_now_ns() + POOL_PREFETCH_NS;
        r = 0;
        for (size_t f = 0, begin = 0; f < sp->nfiles && r == 0; begin = count[f++]) {
                /* The main program's file always: pprof names it first, with its build id. */
                if (count[f] > begin || (f == 0 && !sp->files[0].tried))
                        r = resolve_file(sp, f, by_file + begin, count[f] - begin);
        }
        if (sp->helper)
                pool_release(symbolizer_pool(sp->s), sp->helper);
        sp->helper = NULL;
        if (sp->root_fd >= 0)
                close(sp->root_fd);
        sp->root_fd = -1;
out:
        addrset_free(&seen);
        free(count);
        free(by_file);
        free(file_of);
        free(uniq);
        return r;
}
