#include "daemon/metrics.h"

#include <catch2/catch.hpp>

#include "daemon/http/exchange_log.h"
#include "daemon/request_metrics.h"

using hoard::Metrics;

TEST_CASE("metrics render counters, gauges and readers with HELP and TYPE per family") {
  Metrics m;
  m.add("hoard_upstream_errors_total{upstream=\"a\"}");
  m.add("hoard_upstream_errors_total{upstream=\"b\"}", 3);
  m.set("hoard_upstream_breaker_open{upstream=\"a\"}", 1);
  double objects = 7;
  m.setGaugeReader("hoard_store_objects", [&objects] { return objects; });
  auto text = m.render();
  CHECK(text.find("# TYPE hoard_upstream_errors_total counter\n") != std::string::npos);
  CHECK(text.find("# HELP hoard_upstream_errors_total ") != std::string::npos);
  CHECK(text.find("hoard_upstream_errors_total{upstream=\"b\"} 3\n") != std::string::npos);
  CHECK(text.find("# TYPE hoard_upstream_breaker_open gauge\n") != std::string::npos);
  CHECK(text.find("hoard_store_objects 7\n") != std::string::npos);
  objects = 9;  // readers are read at scrape time
  CHECK(m.render().find("hoard_store_objects 9\n") != std::string::npos);
  // One TYPE line per family, however many series it has.
  std::size_t types = 0;
  for (auto pos = text.find("# TYPE hoard_upstream_errors_total"); pos != std::string::npos;
       pos = text.find("# TYPE hoard_upstream_errors_total", pos + 1)) {
    ++types;
  }
  CHECK(types == 1);
}

TEST_CASE("histogram buckets are cumulative and end with +Inf, _sum and _count") {
  Metrics m;
  m.observe("hoard_upstream_transfer_seconds", 0.0005);  // first bucket
  m.observe("hoard_upstream_transfer_seconds", 0.3);     // 0.5 bucket
  m.observe("hoard_upstream_transfer_seconds", 100);     // above every bucket
  auto text = m.render();
  CHECK(text.find("# TYPE hoard_upstream_transfer_seconds histogram\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_bucket{le=\"0.25\"} 1\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_bucket{le=\"0.5\"} 2\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_bucket{le=\"60\"} 2\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("hoard_upstream_transfer_seconds_sum 100.3005\n") != std::string::npos);
  CHECK(m.observations("hoard_upstream_transfer_seconds") == 3);
}

TEST_CASE("labelled histograms put le after their labels") {
  Metrics m;
  m.observe("hoard_upstream_first_byte_seconds{upstream=\"x\"}", 0.002);
  auto text = m.render();
  CHECK(text.find("hoard_upstream_first_byte_seconds_bucket{upstream=\"x\",le=\"0.0025\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("hoard_upstream_first_byte_seconds_count{upstream=\"x\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("requests are counted by ecosystem, method, status class and cache result") {
  Metrics m;
  hoard::http::ExchangeLog e;
  e.method = "GET";
  e.target = "/npm/lodash";
  e.status = 200;
  e.bodyBytes = 10;
  e.fields = {{"upstream", "npmjs"}, {"cache", "hit"}};
  hoard::countRequest(m, e);
  e.target = "/v2/library/alpine/blobs/sha256:00";
  e.fields = {{"cache", "coalesced"}};
  e.bodyBytes = 5;
  hoard::countRequest(m, e);
  e.method = "BREW";  // unknown methods and results do not grow the label set
  e.target = "/elsewhere";
  e.status = 405;
  e.fields = {{"cache", "something-new"}};
  hoard::countRequest(m, e);
  e.status = 0;  // no head was sent
  e.fields = {};
  hoard::countRequest(m, e);
  CHECK(m.get("hoard_http_requests_total{ecosystem=\"npm\",method=\"GET\",code=\"2xx\",cache="
              "\"hit\"}") == 1);
  CHECK(m.get("hoard_http_requests_total{ecosystem=\"oci\",method=\"GET\",code=\"2xx\",cache="
              "\"coalesced\"}") == 1);
  CHECK(m.get("hoard_http_requests_total{ecosystem=\"other\",method=\"other\",code=\"4xx\",cache="
              "\"other\"}") == 1);
  CHECK(m.get("hoard_http_requests_total{ecosystem=\"other\",method=\"other\",code=\"none\",cache="
              "\"none\"}") == 1);
  CHECK(m.get("hoard_served_bytes_total{source=\"cache\"}") == 10);
  CHECK(m.get("hoard_served_bytes_total{source=\"upstream\"}") == 5);
}

TEST_CASE("every family hoard emits has a help text") {
  for (const char* family :
       {"hoard_http_requests_total", "hoard_served_bytes_total", "hoard_upstream_transfer_seconds",
        "hoard_upstream_first_byte_seconds", "hoard_store_bytes", "hoard_store_objects",
        "hoard_evictions_total", "hoard_digest_mismatch_total", "hoard_active_fills",
        "hoard_index_writes_failing", "hoard_index_recoveries_total"}) {
    CAPTURE(family);
    CHECK_FALSE(hoard::metricHelp(family).empty());
  }
}
