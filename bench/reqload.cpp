// reqload: a small-response req/s load client for bench/run.sh (HEAD and GET). Not a test.
//
// Why it exists: wrk 4.1 cannot measure HEAD. Its HTTP parser is never told the request was a
// HEAD, so on a "HEAD -> 200, Content-Length: 949" answer it waits for 949 body bytes that never
// come and every connection stalls (0 req/s). reqload does what wrk does for this one case:
// T threads, each an epoll loop over its share of C keep-alive connections, one request in
// flight per connection, for D seconds; it knows a HEAD answer has no body. It runs the GET
// phase too, so the HEAD and GET figures come from the same client (run.sh also runs wrk for
// GET as a cross-check).
//
//   reqload -p PORT -u PATH [-m GET|HEAD] [-c 50] [-t 2] [-d 10] [-h 'Name: value']... [-l LEN]
//
// Every answer must be 200 with a Content-Length (equal to -l when given); others are counted
// as bad. Output: one key=value line (req_per_s, responses, bad, errors, lat_avg_ms, p50/p99/p99.9,
// max, and the requests still unanswered at the deadline with the oldest one's age).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;
  std::string method = "GET";
  std::vector<std::string> headers;
  int conns = 50;
  int threads = 2;
  double seconds = 10;
  long long expectLength = -1;
};

struct Conn {
  int fd = -1;
  std::string in;
  Clock::time_point sent;
};

struct Stats {
  unsigned long long responses = 0;
  unsigned long long unfinished = 0;  // requests still unanswered at the deadline
  double unfinishedMaxMs = 0;         // the oldest of them, ms (a stall the percentiles miss)
  unsigned long long bad = 0;         // complete answers that were not 200 + expected length
  unsigned long long errors = 0;      // connect/read/write failures, closes, malformed answers
  std::vector<uint32_t> latUs;
};

int connectTo(const Options& o) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// A request is ~400 bytes and the socket's send buffer is empty when it is sent (one request in
// flight), so a short write means something is broken: it is counted as an error.
bool sendRequest(Conn& c, const std::string& req) {
  c.sent = Clock::now();
  ssize_t n = send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(req.size());
}

// Returns the size of one complete answer at the front of `in`, 0 when more bytes are needed,
// -1 when the bytes cannot be an HTTP/1.1 answer. Sets status/length/closeAfter.
long long parseAnswer(const std::string& in, bool head, int& status, long long& length,
                      bool& closeAfter) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return in.size() > 65536 ? -1 : 0;
  if (in.compare(0, 7, "HTTP/1.") != 0) return -1;
  status = std::atoi(in.c_str() + 9);
  std::string lower(in, 0, end + 2);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  length = -1;
  if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos)
    length = std::atoll(lower.c_str() + p + 17);
  closeAfter =
      lower.find("\r\nconnection: close") != std::string::npos || in.compare(0, 8, "HTTP/1.0") == 0;
  if (lower.find("\r\ntransfer-encoding:") != std::string::npos) return -1;
  if (length < 0) return head ? static_cast<long long>(end + 4) : -1;
  long long total = static_cast<long long>(end + 4) + (head ? 0 : length);
  return static_cast<long long>(in.size()) >= total ? total : 0;
}

void runThread(const Options& o, int nconns, Clock::time_point deadline, Stats& st) {
  std::string req = o.method + " " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" +
                    std::to_string(o.port) + "\r\n";
  for (auto& h : o.headers) req += h + "\r\n";
  req += "\r\n";
  const bool head = o.method == "HEAD";
  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(nconns));
  auto open = [&](size_t i) {
    Conn& c = conns[i];
    c.in.clear();
    c.sent = Clock::time_point{};
    c.fd = connectTo(o);
    if (c.fd < 0) {
      st.errors++;
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;  // EPOLLOUT once: the connect finished, send the first request
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };
  auto reopen = [&](size_t i) {
    if (conns[i].fd >= 0) close(conns[i].fd);
    conns[i].fd = -1;
    if (Clock::now() < deadline) open(i);
  };
  for (size_t i = 0; i < conns.size(); ++i) open(i);
  std::vector<char> buf(64 * 1024);
  epoll_event events[64];
  while (Clock::now() < deadline) {
    int n = epoll_wait(ep, events, 64, 100);
    for (int k = 0; k < n; ++k) {
      size_t i = events[k].data.u64;
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      if (events[k].events & EPOLLOUT) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || !sendRequest(c, req)) {
          st.errors++;
          reopen(i);
        }
        continue;
      }
      if (!(events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      ssize_t r = recv(c.fd, buf.data(), buf.size(), 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        st.errors++;
        reopen(i);
        continue;
      }
      c.in.append(buf.data(), static_cast<size_t>(r));
      int status = 0;
      long long length = -1;
      bool closeAfter = false;
      long long used = parseAnswer(c.in, head, status, length, closeAfter);
      if (used == 0) continue;
      if (used < 0 || static_cast<size_t>(used) != c.in.size()) {
        // Garbage, or bytes beyond the one answer we asked for.
        st.errors++;
        reopen(i);
        continue;
      }
      auto now = Clock::now();
      st.responses++;
      st.latUs.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent).count()));
      if (status != 200 || (o.expectLength >= 0 && length != o.expectLength)) st.bad++;
      c.in.clear();
      c.sent = Clock::time_point{};
      if (now >= deadline) continue;
      if (closeAfter) {
        reopen(i);
      } else if (!sendRequest(c, req)) {
        st.errors++;
        reopen(i);
      }
    }
  }
  // A closed-loop client only records answers, so a request that never came back before the
  // deadline would vanish from the figures: report those (count and age) instead.
  auto end = Clock::now();
  for (auto& c : conns) {
    if (c.fd < 0) continue;
    if (c.sent > Clock::time_point{}) {
      st.unfinished++;
      st.unfinishedMaxMs = std::max(
          st.unfinishedMaxMs, std::chrono::duration<double, std::milli>(end - c.sent).count());
    }
    close(c.fd);
  }
  close(ep);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: reqload -p PORT -u PATH [-m GET|HEAD] [-c CONNS] [-t THREADS] "
               "[-d SECONDS] [-h 'Name: value']... [-l LENGTH] [-H HOST]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "-H")
      o.host = next();
    else if (a == "-p")
      o.port = std::atoi(next().c_str());
    else if (a == "-u")
      o.path = next();
    else if (a == "-m")
      o.method = next();
    else if (a == "-c")
      o.conns = std::atoi(next().c_str());
    else if (a == "-t")
      o.threads = std::atoi(next().c_str());
    else if (a == "-d")
      o.seconds = std::atof(next().c_str());
    else if (a == "-h")
      o.headers.push_back(next());
    else if (a == "-l")
      o.expectLength = std::atoll(next().c_str());
    else
      usage();
  }
  if (o.port <= 0 || o.path.empty() || o.conns <= 0 || o.threads <= 0 || o.conns < o.threads ||
      (o.method != "GET" && o.method != "HEAD"))
    usage();

  auto t0 = Clock::now();
  auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<Stats> stats(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    int share = o.conns / o.threads + (t < o.conns % o.threads ? 1 : 0);
    threads.emplace_back(
        [&, t, share] { runThread(o, share, deadline, stats[static_cast<size_t>(t)]); });
  }
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

  Stats sum;
  for (auto& s : stats) {
    sum.responses += s.responses;
    sum.bad += s.bad;
    sum.errors += s.errors;
    sum.unfinished += s.unfinished;
    sum.unfinishedMaxMs = std::max(sum.unfinishedMaxMs, s.unfinishedMaxMs);
    sum.latUs.insert(sum.latUs.end(), s.latUs.begin(), s.latUs.end());
  }
  std::sort(sum.latUs.begin(), sum.latUs.end());
  auto pct = [&](double p) -> double {
    if (sum.latUs.empty()) return 0;
    size_t idx = static_cast<size_t>(p * static_cast<double>(sum.latUs.size() - 1));
    return sum.latUs[idx] / 1000.0;
  };
  double avg = 0;
  for (auto v : sum.latUs) avg += v;
  avg = sum.latUs.empty() ? 0 : avg / static_cast<double>(sum.latUs.size()) / 1000.0;
  std::printf(
      "method=%s conns=%d threads=%d responses=%llu bad=%llu errors=%llu seconds=%.3f "
      "req_per_s=%.0f lat_avg_ms=%.3f lat_p50_ms=%.3f lat_p99_ms=%.3f lat_p999_ms=%.3f "
      "lat_max_ms=%.3f unfinished=%llu unfinished_max_ms=%.1f\n",
      o.method.c_str(), o.conns, o.threads, sum.responses, sum.bad, sum.errors, elapsed,
      static_cast<double>(sum.responses) / elapsed, avg, pct(0.50), pct(0.99), pct(0.999),
      sum.latUs.empty() ? 0.0 : sum.latUs.back() / 1000.0, sum.unfinished, sum.unfinishedMaxMs);
  return sum.bad == 0 && sum.errors == 0 ? 0 : 1;
}
