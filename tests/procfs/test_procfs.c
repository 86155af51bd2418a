/* Unit tests of the /proc parsers against crafted texts, and of the readers against this process. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"
#include "../check.h"

static int status(const char *text, struct proc_status *st)
{
        /* an exact-size copy, so reading past len would be caught by ASan/valgrind */
        size_t len = strlen(text);
        char *copy = malloc(len ? len : 1);
        int r;

        memcpy(copy, text, len);
        r = proc_status_parse(copy, len, st);
        free(copy);
        return r;
}

static int start_time(const char *text, uint64_t *ret)
{
        size_t len = strlen(text);
        char *copy = malloc(len ? len : 1);
        int r;

        memcpy(copy, text, len);
        r = proc_stat_parse_start_time(copy, len, ret);
        free(copy);
        return r;
}

static const char typical[] =
        "Name:\tmy prog (x)\n"
        "Umask:\t0022\n"
        "State:\tS (sleeping)\n"
        "Tgid:\t4242\n"
        "Ngid:\t0\n"
        "Pid:\t4242\n"
        "PPid:\t1\n"
        "NSpid:\t4242\t17 1\n"
        "TracerPid:\t777\n"
        "Uid:\t1000\t1001\t1002\t1003\n"
        "Gid:\t2000\t2001\t2002\t2003\n"
        "FDSize:\t64\n"
        "Groups:\t4 24 27 \n"
        "VmPeak:\t   10000 kB\n"
        "VmSize:\t    9000 kB\n"
        "VmLck:\t       0 kB\n"
        "VmHWM:\t    3000 kB\n"
        "VmRSS:\t    2500 kB\n"
        "RssAnon:\t     500 kB\n"
        "RssFile:\t    1900 kB\n"
        "RssShmem:\t     100 kB\n"
        "VmSwap:\t      7 kB\n"
        "Threads:\t3\n"
        "CapInh:\t0000000000000000\n"
        "CapEff:\t000001ffffffffff\n"
        "Seccomp:\t0\n";

static void test_typical(void)
{
        struct proc_status st;

        CHECK(status(typical, &st) == 0);
        CHECK(strcmp(st.name, "my prog (x)") == 0);
        CHECK(st.state == 'S');
        CHECK(st.pid == 4242 && st.ppid == 1 && st.tracer == 777);
        CHECK(st.nspid == 1); /* the innermost namespace's, whatever the separators */
        CHECK(st.uid[0] == 1000 && st.uid[1] == 1001 && st.uid[2] == 1002 && st.uid[3] == 1003);
        CHECK(st.gid[0] == 2000 && st.gid[1] == 2001 && st.gid[2] == 2002 && st.gid[3] == 2003);
        CHECK(st.cap_eff == 0x1ffffffffffULL);
        CHECK(st.vm_size == 9000 * 1024ULL);
        CHECK(st.vm_hwm == 3000 * 1024ULL);
        CHECK(st.vm_rss == 2500 * 1024ULL);
        CHECK(st.rss_anon == 500 * 1024ULL);
        CHECK(st.rss_file == 1900 * 1024ULL);
        CHECK(st.rss_shmem == 100 * 1024ULL);
        CHECK(st.vm_swap == 7 * 1024ULL);
        CHECK(st.threads == 3);
        CHECK(st.has_mm);

        /* without a final newline the last line still counts */
        char cut[sizeof(typical)];
        memcpy(cut, typical, sizeof(typical));
        cut[strlen(cut) - 1] = '\0';
        CHECK(status(cut, &st) == 0 && st.cap_eff == 0x1ffffffffffULL);
}

static void test_kernel_thread(void)
{
        struct proc_status st;

        CHECK(status("Name:\tkworker/u4:1-events_unbound_with_a_very_long_name_that_goes_on_"
                     "and_on\nState:\tI (idle)\nPid:\t77\nPPid:\t2\nUid:\t0\t0\t0\t0\n"
                     "Gid:\t0\t0\t0\t0\nThreads:\t1\n",
                     &st) == 0);
        CHECK(!st.has_mm);
        CHECK(st.nspid == 77); /* no NSpid line: the PID itself */
        CHECK(st.vm_rss == 0 && st.vm_size == 0);
        CHECK(strlen(st.name) == sizeof(st.name) - 1);
        CHECK(strncmp(st.name, "kworker/u4:1-events_unbound", 27) == 0);
        CHECK(st.state == 'I');
}

static void test_bad_status(void)
{
        struct proc_status st = {.pid = 99};

        /* identity lines are required: access control depends on them */
        CHECK(status("Name:\tx\nPid:\t1\nGid:\t0\t0\t0\t0\n", &st) == -EBADMSG);
        CHECK(status("Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", &st) == -EBADMSG);
        CHECK(status("", &st) == -EBADMSG);
        CHECK(st.pid == 99); /* untouched on failure */
        /* three ids where four belong */
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\nGid:\t0\t0\t0\t0\n", &st) == -EBADMSG);
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t4294967296\nGid:\t0\t0\t0\t0\n", &st) == -ERANGE);
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t4294967295\nGid:\t0\t0\t0\t0\n", &st) == 0);
        CHECK(st.uid[3] == 4294967295u);
        /* sizes that do not fit in bytes, or at all */
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
                     "VmRSS:\t18014398509481984 kB\n",
                     &st) == -ERANGE);
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
                     "VmRSS:\t18014398509481983 kB\n",
                     &st) == 0);
        CHECK(st.vm_rss == 18014398509481983ULL * 1024);
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
                     "Threads:\t99999999999999999999999\n",
                     &st) == -ERANGE);
        CHECK(status("Pid:\t99999999999\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", &st) ==
              -ERANGE);
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\tzz\n", &st) ==
              -EBADMSG);
        CHECK(status("Pid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t kB\n", &st) ==
              -EBADMSG);
        CHECK(status("Pid:\t1\nNSpid:\t1\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", &st) ==
              -EBADMSG);
        /* lines without a colon and unknown keys are ignored */
        CHECK(status("garbage\n\n::\nPid:\t5\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\nFoo: bar\n",
                     &st) == 0);
        CHECK(st.pid == 5 && st.uid[0] == 1 && st.gid[3] == 2 && st.state == '?');
}

/* stat with fields 3..21 as "s 1 2 ... ", 22 = start. */
static void stat_text(char *buf, size_t size, const char *comm, const char *start)
{
        snprintf(buf, size,
                 "4242 (%s) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %s "
                 "2990080 457 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
                 comm, start);
}

static void test_start_time(void)
{
        char buf[512];
        uint64_t t = 7;

        stat_text(buf, sizeof(buf), "sleep", "123456");
        CHECK(start_time(buf, &t) == 0 && t == 123456);
        /* comm may hold spaces and parentheses: only the last ')' ends it */
        stat_text(buf, sizeof(buf), "a) (b c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 "
                                    "20 21 22",
                  "987654321");
        CHECK(start_time(buf, &t) == 0 && t == 987654321);
        stat_text(buf, sizeof(buf), ") (", "18446744073709551615");
        CHECK(start_time(buf, &t) == 0 && t == UINT64_MAX);
        stat_text(buf, sizeof(buf), "x", "18446744073709551616");
        CHECK(start_time(buf, &t) == -ERANGE);
        stat_text(buf, sizeof(buf), "x", "12x4");
        CHECK(start_time(buf, &t) == -EBADMSG);
        t = 7;
        CHECK(start_time("4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18", &t) ==
              -EBADMSG);
        CHECK(start_time("4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 ", &t) ==
              -EBADMSG);
        CHECK(start_time("4242 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", &t) ==
              -EBADMSG);
        CHECK(start_time("", &t) == -EBADMSG);
        CHECK(start_time(")", &t) == -EBADMSG);
        CHECK(t == 7); /* untouched on failure */
        /* exactly 22 fields, no newline */
        CHECK(start_time("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 42", &t) == 0 &&
              t == 42);
}

static void test_stat_fields(void)
{
        struct proc_stat st = {0};
        /* kthreadd: PF_KTHREAD in the flags; tpgid -1 is a field like any other */
        const char *k = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0\n";
        const char *z = "77 (a b)) Z 1 77 77 0 -1 4227340 0 0 0 0 0 0 0 0 20 0 1 0 12345 0\n";

        CHECK(proc_stat_parse(k, strlen(k), &st) == 0 && st.state == 'S' &&
              (st.flags & PROC_PF_KTHREAD) && st.start_time == 9 &&
              strcmp(st.comm, "kthreadd") == 0);
        CHECK(proc_stat_parse(z, strlen(z), &st) == 0 && st.state == 'Z' &&
              !(st.flags & PROC_PF_KTHREAD) && st.start_time == 12345 &&
              strcmp(st.comm, "a b)") == 0);
        CHECK(proc_stat_parse("1 (x)  S", 8, &st) == -EBADMSG);
        CHECK(proc_stat_read(getpid(), &st) == 0 && st.state == 'R' &&
              !(st.flags & PROC_PF_KTHREAD) && st.start_time > 0);
}

static void test_live(void)
{
        struct proc_status st;
        uint64_t mine, childs;
        struct proc_pid_entry *pids;
        pid_t child;
        size_t n;
        int found = 0, sorted = 1, status_code;

        CHECK(proc_status_read(getpid(), &st) == 0);
        CHECK(st.pid == getpid());
        CHECK(st.uid[0] == getuid() && st.uid[1] == geteuid());
        CHECK(st.gid[0] == getgid());
        CHECK(st.threads == 1);
        CHECK(st.has_mm && st.vm_size > 0 && st.vm_rss > 0 && st.vm_rss % 1024 == 0);

        CHECK(proc_start_time(getpid(), &mine) == 0);
        child = fork();
        if (child == 0) {
                pause();
                _exit(0);
        }
        CHECK(proc_start_time(child, &childs) == 0 && childs >= mine);
        kill(child, SIGKILL);
        waitpid(child, &status_code, 0);
        /* gone: ENOENT, which is what the daemon turns into "no such file" */
        CHECK(proc_start_time(child, &childs) == -ENOENT);
        CHECK(proc_status_read(child, &st) == -ENOENT);
        CHECK(proc_status_read(0, &st) == -ENOENT);
        CHECK(proc_status_read(-1, &st) == -ENOENT);

        CHECK(proc_list_pids(&pids, &n) == 0);
        for (size_t i = 0; i < n; i++) {
                if (pids[i].pid == getpid()) {
                        struct stat self;
                        /* the inode is that of /proc/PID: how `ls` remembers a process */
                        found = stat("/proc/self", &self) == 0 && pids[i].ino == self.st_ino;
                }
                if (i > 0 && pids[i - 1].pid >= pids[i].pid)
                        sorted = 0;
        }
        CHECK(found && sorted && n > 1);
        free(pids);
}

int main(void)
{
        test_typical();
        test_kernel_thread();
        test_bad_status();
        test_start_time();
        test_stat_fields();
        test_live();
        if (check_failures)
                fprintf(stderr, "%d checks failed\n", check_failures);
        else
                printf("all procfs checks passed\n");
        return check_failures ? 1 : 0;
}
