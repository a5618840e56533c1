#include "daemon/http/output_queue.h"

#include <catch2/catch.hpp>

namespace hoard::http {

TEST_CASE("a file range that continues the last one extends it") {
  OutputQueue q;
  q.pushFile(7, 0, 100, true);
  q.pushFile(7, 100, 50, true);
  REQUIRE(q.bytes() == 150);
  CHECK(q.front().fileOffset == 0);
  CHECK(q.front().fileRemaining == 150);
  // One consume takes the merged range whole.
  CHECK(q.consumeFile(150) == 150);
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("a partly sent range still takes its continuation") {
  // A sendfile job sent part of the front range, more of the file arrived.
  OutputQueue q;
  q.pushFile(7, 0, 100, true);
  CHECK(q.consumeFile(60) == 60);
  q.pushFile(7, 100, 40, true);
  CHECK(q.front().fileOffset == 60);
  CHECK(q.front().fileRemaining == 80);
  CHECK(q.consumeFile(80) == 80);
  CHECK(q.empty());
}

TEST_CASE("ranges that do not continue each other stay apart") {
  OutputQueue q;
  q.pushFile(7, 0, 100, true);
  q.pushFile(8, 100, 10, true);   // another file
  q.pushFile(8, 120, 10, true);   // a gap
  q.pushFile(8, 130, 10, false);  // not body bytes
  q.pushMemory("tail", true);
  q.pushFile(8, 140, 10, true);  // after a memory piece
  CHECK(q.bytes() == 144);
  CHECK(q.consumeFile(100) == 100);
  CHECK(q.front().fd == 8);
  CHECK(q.front().fileRemaining == 10);
  CHECK(q.consumeFile(10) == 10);
  CHECK(q.front().fileOffset == 120);
  CHECK(q.front().fileRemaining == 10);
  CHECK(q.consumeFile(10) == 10);
  CHECK(q.front().fileOffset == 130);
  CHECK(q.consumeFile(10) == 0);  // sent, but not body bytes
  CHECK_FALSE(q.front().isFile());
  CHECK(q.consumeMemory(4) == 4);
  CHECK(q.front().fileOffset == 140);
  CHECK(q.consumeFile(10) == 10);
  CHECK(q.empty());
}

TEST_CASE("a range pushed after the queue drained starts a new item") {
  OutputQueue q;
  q.pushFile(7, 0, 10, true);
  CHECK(q.consumeFile(10) == 10);
  REQUIRE(q.empty());
  q.pushFile(7, 10, 10, true);
  CHECK(q.front().fileOffset == 10);
  CHECK(q.front().fileRemaining == 10);
}

}  // namespace hoard::http
