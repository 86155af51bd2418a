/* Feeds files (or every file in directories) to LLVMFuzzerTestOneInput without
 * libFuzzer, so `meson test` replays the corpus. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (64u << 20)

static int run_file(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > REPLAY_MAX_INPUT) {
                fprintf(stderr, "cannot use %s\n", path);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        size_t size = (size_t)st.st_size, got = 0;
        uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees overreads */
        while (buf && got < size) {
                ssize_t n = read(fd, buf + got, size - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        if (!buf || got != size) {
                free(buf);
                return -1;
        }
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        int files = 0;
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        files++;
                        continue;
                }
                struct dirent *e;
                while ((e = readdir(d))) {
                        if (e->d_name[0] == '.')
                                continue;
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        if (run_file(path) < 0) {
                                closedir(d);
                                return 1;
                        }
                        files++;
                }
                closedir(d);
        }
        printf("replayed %d inputs\n", files);
        return files ? 0 : 1;
}
