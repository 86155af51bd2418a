/* include/memprof/hash.h: FNV-1a against its published vectors, MurmurHash3's fmix64
 * against values computed apart from this code. */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "memprof/hash.h"

int main(void)
{
        CHECK(hash_bytes("", 0) == 0xcbf29ce484222325ull); /* the offset basis */
        CHECK(hash_bytes("a", 1) == 0xaf63dc4c8601ec8cull);
        CHECK(hash_bytes("foobar", 6) == 0x85944171f73967e8ull);
        CHECK(hash_bytes("foobar", 3) == hash_bytes("foo", 3));

        CHECK(hash_fmix64(0) == 0);
        CHECK(hash_fmix64(1) == 0xb456bcfc34c2cb2cull);
        CHECK(hash_fmix64(2) == 0x3abf2a20650683e7ull);
        CHECK(hash_fmix64(0xdeadbeef) == 0xd24bd59f862a1dacull);
        CHECK(hash_fmix64(1ull << 63) == 0x8f780810af31a493ull);

        /* folding integers depends on their order: (1, 2) and (2, 1) are different keys */
        CHECK(hash_mix(hash_mix(0, 1), 2) != hash_mix(hash_mix(0, 2), 1));
        CHECK(hash_mix(7, 9) == hash_mix(7, 9));
        if (!check_failures)
                printf("ok\n");
        return check_failures ? 1 : 0;
}
