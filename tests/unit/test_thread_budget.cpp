#include "engine/executor.hpp"
#include "engine/run.hpp"

#include <gtest/gtest.h>

using namespace batchproc;

TEST(ThreadBudget, AutoWorkersFillTheCoresWithoutOversubscribing) {
    PoolSpec pool;
    pool.mode = PoolMode::processes;
    pool.workers = 0;
    pool.threads_per_worker = 1;
    ThreadBudget b = plan_thread_budget(pool, 8);
    EXPECT_EQ(b.workers, 8);
    EXPECT_TRUE(b.warning.empty());
    pool.threads_per_worker = 3;
    b = plan_thread_budget(pool, 8);
    EXPECT_EQ(b.workers, 2); // 2 x 3 <= 8
    EXPECT_TRUE(b.warning.empty());
    pool.threads_per_worker = 16;
    b = plan_thread_budget(pool, 8);
    EXPECT_EQ(b.workers, 1);
    EXPECT_FALSE(b.warning.empty()); // 16 threads asked for on 8 cores
}

TEST(ThreadBudget, ExplicitOversubscriptionIsHonouredWithAWarningUnlessAllowed) {
    PoolSpec pool;
    pool.mode = PoolMode::threads;
    pool.workers = 4;
    pool.threads_per_worker = 2;
    ThreadBudget b = plan_thread_budget(pool, 2);
    EXPECT_EQ(b.workers, 4);
    EXPECT_NE(b.warning.find("oversubscribed"), std::string::npos) << b.warning;
    pool.oversubscribe = true;
    EXPECT_TRUE(plan_thread_budget(pool, 2).warning.empty());
}

TEST(ThreadBudget, SerialHasOneWorker) {
    PoolSpec pool;
    pool.mode = PoolMode::serial;
    pool.workers = 6;
    EXPECT_EQ(plan_thread_budget(pool, 8).workers, 1);
    EXPECT_EQ(resolve_workers(pool), 1);
}

TEST(ThreadBudget, AvailableCoresFollowsTheAffinityMask) {
    cpu_set_t saved;
    ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
    const int all = available_cores();
    EXPECT_EQ(all, CPU_COUNT(&saved));
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &saved)) {
            CPU_SET(c, &one);
            break;
        }
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    EXPECT_EQ(available_cores(), 1);
    ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
}

TEST(ThreadBudget, AllCoresButNAndAShareOfThem) {
    PoolSpec pool;
    pool.mode = PoolMode::processes;
    pool.threads_per_worker = 1;
    pool.workers = -1; // every core but one
    EXPECT_EQ(plan_thread_budget(pool, 8).workers, 7);
    EXPECT_EQ(plan_thread_budget(pool, 1).workers, 1) << "at least one worker";
    pool.workers = 0;
    pool.workers_percent = 50;
    EXPECT_EQ(plan_thread_budget(pool, 8).workers, 4);
    EXPECT_EQ(plan_thread_budget(pool, 3).workers, 1);
    EXPECT_EQ(plan_thread_budget(pool, 1).workers, 1);
    pool.threads_per_worker = 2;
    EXPECT_EQ(plan_thread_budget(pool, 16).workers, 4) << "8 of 16 cores, 2 threads a worker";
}
