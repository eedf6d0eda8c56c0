// The behaviour tests of the core's SQL: run against the PostgreSQL server
// named by PGHOST/PGPORT/PGUSER (a scratch database is created and dropped).
#include <gtest/gtest.h>

#include <cstdio>

#include "harness.hpp"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    std::printf("sql_behaviour: SQLB_SEED=%llu SQLB_SCALE=%d\n",
                static_cast<unsigned long long>(ivmx::sqlb::BaseSeed()), ivmx::sqlb::Scale());
    ::testing::AddGlobalTestEnvironment(ivmx::sqlb::NewScratchDatabase());
    return RUN_ALL_TESTS();
}
