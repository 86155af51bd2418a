"""memstats' allocator section after a burst: the leak example allocates everything
within a few tens of milliseconds and then idles, so no 100 ms refresh comes after its
leaks; the refreshes a young process makes as its samples double must still have seen
them.  Ground truth: leak_big keeps 64 objects of 1 MiB, which glibc serves with mmap
(mallinfo's hblks/hblkhd), leak_small 4096 objects of 1000 bytes in the arena
(uordblks), and churn then frees everything it allocated."""

import harness
from heaptest import finish, start_example

MiB = 1 << 20

with harness.Mount() as m:
    p, pid = start_example("leak")  # the default rate, as in production
    text = m.read(pid, "memstats").decode()
    ms = harness.memstats(text)
    harness.check("# allocator (glibc mallinfo2" in text, "no allocator section:\n" + text)
    harness.check(ms["SampleRate"] == 524288, "SampleRate %r" % ms["SampleRate"])
    harness.check(ms["mallinfo_hblks"] >= 64, "mallinfo_hblks %d, want the 64 big objects"
                  % ms["mallinfo_hblks"])
    harness.check(64 * MiB <= ms["mallinfo_hblkhd"] <= 64 * MiB + 64 * 3 * 4096,
                  "mallinfo_hblkhd %d, want 64 MiB of mapped chunks (a page of header or "
                  "sampling room each, at most)" % ms["mallinfo_hblkhd"])
    harness.check(ms["mallinfo_uordblks"] >= 4096 * 1000,
                  "mallinfo_uordblks %d, want leak_small's 4096000 bytes at least"
                  % ms["mallinfo_uordblks"])
    finish(p)
print("ok")
