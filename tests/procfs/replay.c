/* Replays a fuzzer corpus through its entry point: the corpus as a regression test. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1 << 20)

static int replay_file(const char *path)
{
        uint8_t *buf = malloc(REPLAY_MAX_INPUT);
        size_t n;
        FILE *f;

        if (!buf)
                return -ENOMEM;
        f = fopen(path, "rbe");
        if (!f) {
                free(buf);
                return -errno;
        }
        n = fread(buf, 1, REPLAY_MAX_INPUT, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        size_t count = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
                return 2;
        }
        DIR *d = opendir(argv[1]);
        if (!d) {
                fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        for (struct dirent *de; (de = readdir(d));) {
                char path[4096];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
                if (replay_file(path) < 0) {
                        fprintf(stderr, "%s: cannot read\n", path);
                        closedir(d);
                        return 1;
                }
                count++;
        }
        closedir(d);
        if (count == 0) {
                fprintf(stderr, "%s: empty corpus\n", argv[1]);
                return 1;
        }
        printf("replayed %zu inputs\n", count);
        return 0;
}
