/* A statically linked program that waits to be killed: no dynamic loader, so nothing
 * can be preloaded into it (like a Go program without cgo). */
#include <unistd.h>

int main(void)
{
        for (;;)
                pause();
}
