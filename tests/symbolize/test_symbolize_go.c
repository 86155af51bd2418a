/* Test of the symbolizer against a running cgo program (go_target/): its Go functions
 * must resolve to their .go files and lines (Go writes no .debug_aranges, so its units
 * are easily mistaken for a C unit's) and its C functions to their .c files and lines.
 * The target prints its own ground truth; see go_target/main.go for the format. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbolize.h"

/* The test reads its own children: files are opened with its own ids. */
static struct sym_caller self_caller;

#define MAX_RECORDS 16
#define MAX_FRAMES SYM_MAX_INLINE

static int failures;

#define FAIL(...)                                                                     \
        do {                                                                          \
                fprintf(stderr, __VA_ARGS__);                                         \
                fputc('\n', stderr);                                                  \
                failures++;                                                           \
        } while (0)

struct frame_truth {
        char function[256], file[256];
        int line;
};

struct record {
        unsigned long long address;
        int is_return_address;
        size_t nframes;
        struct frame_truth frames[MAX_FRAMES];
};

static const char *base(const char *path) {
        const char *s = path ? strrchr(path, '/') : NULL;
        return s ? s + 1 : path;
}

/* "ADDR RET FUNC FILE LINE [FUNC FILE LINE]..." */
static int parse_record(char *s, struct record *ret) {
        struct record r = { 0 };
        char *save = NULL, *tok;
        if (!(tok = strtok_r(s, " \n", &save)) || sscanf(tok, "%llx", &r.address) != 1)
                return -EINVAL;
        if (!(tok = strtok_r(NULL, " \n", &save)) || sscanf(tok, "%d", &r.is_return_address) != 1)
                return -EINVAL;
        while ((tok = strtok_r(NULL, " \n", &save)) && r.nframes < MAX_FRAMES) {
                struct frame_truth *f = &r.frames[r.nframes];
                char *file = strtok_r(NULL, " \n", &save), *line = strtok_r(NULL, " \n", &save);
                if (!file || !line || strlen(tok) >= sizeof(f->function) ||
                    strlen(file) >= sizeof(f->file))
                        return -EINVAL;
                strcpy(f->function, tok);
                strcpy(f->file, file);
                f->line = atoi(line);
                r.nframes++;
        }
        if (r.nframes == 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

static void check_record(struct sym_process *sp, const struct record *r) {
        struct sym_frame f;
        int ret = sym_process_lookup(sp, r->address, r->is_return_address, &f);
        printf("%#llx (%s):", r->address, r->is_return_address ? "return address" : "entry");
        for (size_t i = 0; ret == 0 && i < f.nlines; i++)
                printf(" %s at %s:%d;", f.lines[i].function ? f.lines[i].function : "?",
                       f.lines[i].file ? f.lines[i].file : "?", f.lines[i].line);
        printf("\n");
        if (ret < 0) {
                FAIL("lookup of %#llx: %s", r->address, strerror(-ret));
                return;
        }
        if (f.nlines != r->nframes)
                FAIL("%#llx: %zu lines, want %zu", r->address, f.nlines, r->nframes);
        for (size_t i = 0; i < f.nlines && i < r->nframes; i++) {
                const struct sym_line *got = &f.lines[i];
                const struct frame_truth *want = &r->frames[i];
                if (!got->function || strcmp(got->function, want->function) != 0)
                        FAIL("%#llx line %zu: function %s, want %s", r->address, i,
                             got->function ? got->function : "(null)", want->function);
                if (!got->file || strcmp(base(got->file), want->file) != 0)
                        FAIL("%#llx line %zu: file %s, want %s", r->address, i,
                             got->file ? got->file : "(null)", want->file);
                if (got->line != want->line)
                        FAIL("%#llx line %zu: line %d, want %d", r->address, i, got->line,
                             want->line);
        }
}

int main(int argc, char **argv) {
        self_caller = (struct sym_caller){ .uid = geteuid(), .gid = getegid() };
        if (argc < 2) {
                printf("skip: the Go toolchain (go) was not found, no cgo target was built\n");
                return 77;
        }

        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
                perror("pipe2");
                return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
                perror("fork");
                return 1;
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(in[0], 0);
                dup2(out[1], 1);
                execv(argv[1], (char *[]){ argv[1], NULL });
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        FILE *from = fdopen(out[0], "r");

        struct record records[MAX_RECORDS];
        size_t nrecords = 0;
        bool ready = false;
        char buf[4096];
        while (!ready && from && fgets(buf, sizeof(buf), from)) {
                if (strcmp(buf, "ready\n") == 0)
                        ready = true;
                else if (nrecords < MAX_RECORDS && parse_record(buf, &records[nrecords]) == 0)
                        nrecords++;
                else
                        FAIL("target printed an unexpected line: %s", buf);
        }
        if (!ready)
                FAIL("the target %s never became ready", argv[1]);
        if (nrecords < 5)
                FAIL("the target printed %zu records, want 5", nrecords);

        struct symbolizer *s = NULL;
        struct sym_process *sp = NULL;
        int r = symbolizer_new(4, &s);
        if (r == 0 && ready)
                r = sym_process_open(s, pid, &self_caller, &sp);
        if (r < 0)
                FAIL("opening the symbolizer for pid %d: %s", (int) pid, strerror(-r));
        for (size_t i = 0; sp && i < nrecords; i++)
                check_record(sp, &records[i]);
        sym_process_free(sp);
        symbolizer_free(s);

        close(in[1]); /* the target exits at the end of its stdin */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (from)
                fclose(from);

        if (failures) {
                fprintf(stderr, "%d failures\n", failures);
                return 1;
        }
        printf("ok: %zu addresses of a cgo binary\n", nrecords);
        return 0;
}
