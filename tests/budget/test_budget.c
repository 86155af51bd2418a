/* fs/budget.c: the bounds on memory snapshots hold, per uid, for all users, in all. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "memprofd.h"

#define NOBODY 65534

int main(void)
{
        struct snap_budget *b;
        struct snap_usage u;

        if (budget_new(&b) < 0)
                return 1;
        CHECK(budget_charge(b, NOBODY, 0, &u) == 0);
        const struct snap_limits lim = u.lim;
        CHECK(lim.total > 0 && lim.total <= (1ull << 30));
        CHECK(lim.per_uid == lim.total / 4 && lim.users == lim.total - lim.per_uid);

        /* one uid: its quarter, not a byte more, and given back whole */
        CHECK(budget_charge(b, NOBODY, lim.per_uid, &u) == 0 && u.uid == lim.per_uid);
        CHECK(budget_charge(b, NOBODY, 1, &u) == -ENOMEM && u.uid == lim.per_uid);
        budget_release(b, NOBODY, lim.per_uid);
        CHECK(budget_charge(b, NOBODY, lim.per_uid, &u) == 0);

        /* three more uids fill what users together may hold... */
        CHECK(budget_charge(b, 1000, lim.per_uid, NULL) == 0);
        CHECK(budget_charge(b, 1001, lim.users - 2 * lim.per_uid, NULL) == 0);
        CHECK(budget_charge(b, 1002, 1, &u) == -ENOMEM && u.users == lim.users);
        /* ...and root still has the rest, up to the whole */
        CHECK(budget_charge(b, 0, lim.total - lim.users, &u) == 0 && u.total == lim.total);
        CHECK(budget_charge(b, 0, 1, NULL) == -ENOMEM);
        budget_release(b, 0, lim.total - lim.users);

        /* root is held to the whole alone, beyond one uid's quarter */
        budget_release(b, NOBODY, lim.per_uid);
        budget_release(b, 1000, lim.per_uid);
        budget_release(b, 1001, lim.users - 2 * lim.per_uid);
        CHECK(budget_charge(b, 0, lim.total, &u) == 0 && u.users == 0);
        CHECK(budget_charge(b, NOBODY, 1, NULL) == -ENOMEM);
        budget_release(b, 0, lim.total);
        CHECK(budget_charge(b, NOBODY, 1, &u) == 0 && u.total == 1);

        /* a release of more than was charged (a bug) changes nothing */
        budget_release(b, 1000, 5);
        CHECK(budget_charge(b, 1000, 0, &u) == 0 && u.total == 1);
        budget_free(b);
        if (check_failures)
                fprintf(stderr, "%d checks failed\n", check_failures);
        else
                printf("all budget checks passed\n");
        return check_failures ? 1 : 0;
}
