// blobget: a blob-download load client for bench/run.sh. Not a test, not built by CMake.
//
// wrk reads responses in 8 KiB pieces and parses every byte, so on a 2-core machine it, not the
// server, caps multi-GiB/s blob throughput. blobget reads straight into a large buffer (1 MiB by
// default) and only parses headers, so the server under test is the limit.
//
// Two modes, one thread per connection, HTTP/1.1 keep-alive, plain TCP:
//   duration:  blobget -p PORT -u PATH -c 4 -d 10 [-l LEN]
//              each connection GETs PATH back to back for D seconds; reports bytes/s over the
//              whole window (partial bodies at the deadline count: they are bytes the server sent).
//   once:      blobget -p PORT -u PATH -c 8 --once [--sha256 HEX] [-l LEN]
//              all connections connect, wait on one barrier, then each does exactly one GET;
//              reports wall time (barrier -> last body byte), time to first byte, and checks
//              every body's sha256 when --sha256 is given.
//              --expect FILE instead compares every body byte for byte with FILE (the
//              original blob, mapped before the clock starts): the same check as its sha256,
//              at a fraction of the CPU. The clients share the machine with the servers, and
//              hashing 8 x 512 MiB while reading costs more CPU than the servers under test
//              spend: the wall time would then measure the client.
// Every response must be 200 with a Content-Length (equal to -l when given) and a body that
// arrives whole; anything else counts as an error and makes the exit status 1.
//
// Output: one line of key=value pairs on stdout (run.sh parses it); problems on stderr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
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
  int conns = 4;
  double seconds = 10;
  bool once = false;
  std::string sha256;            // lower-case hex, once mode only
  std::string expectFile;        // once mode: bodies must equal this file
  const char* expect = nullptr;  // its bytes (mapped)
  size_t expectSize = 0;
  long long expectLength = -1;
  size_t bufSize = 1 << 20;
};

struct Result {
  unsigned long long bytes = 0;      // body bytes received
  unsigned long long responses = 0;  // complete, checked responses
  unsigned long long errors = 0;
  double ttfb = 0;  // once mode: seconds from barrier to first response byte
  double done = 0;  // once mode: seconds from barrier to last body byte
  bool shaOk = false;
  std::string shaHex;
  bool sameBytes = true;  // --expect: every byte so far equals the file's
};

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int connectTo(const Options& o) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A stalled server must not hang the benchmark: a recv that waits this long is an error.
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool sendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string toHex(const unsigned char* p, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// One connection's work. Returns when the deadline passes (duration mode), after one response
// (once mode), or on an error it cannot continue past.
// t0 and deadline are written by the barrier's completion step, so they are read by reference
// only after arrive_and_wait().
template <class Barrier>
void runConnection(const Options& o, Result& r, Barrier& start, const Clock::time_point& t0,
                   const Clock::time_point& deadline) {
  std::vector<char> buf(o.bufSize);
  const std::string req = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" +
                          std::to_string(o.port) + "\r\nUser-Agent: blobget\r\nAccept: */*\r\n\r\n";
  int fd = connectTo(o);
  start.arrive_and_wait();
  if (fd < 0) {
    std::fprintf(stderr, "blobget: connect failed: %s\n", std::strerror(errno));
    r.errors++;
    return;
  }
  EVP_MD_CTX* md = nullptr;
  if (o.once && !o.sha256.empty()) {
    md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  }
  bool running = true;
  while (running) {
    if (!o.once && Clock::now() >= deadline) break;
    if (fd < 0 && (fd = connectTo(o)) < 0) {
      r.errors++;
      break;
    }
    if (!sendAll(fd, req)) {
      r.errors++;
      break;
    }
    // Headers: read until CRLFCRLF; whatever follows is the start of the body.
    std::string head;
    size_t headEnd = std::string::npos;
    while (headEnd == std::string::npos) {
      ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (o.once && head.empty()) r.ttfb = secondsSince(t0);
      head.append(buf.data(), static_cast<size_t>(n));
      headEnd = head.find("\r\n\r\n");
      if (head.size() > 64 * 1024 && headEnd == std::string::npos) break;
    }
    if (headEnd == std::string::npos) {
      std::fprintf(stderr, "blobget: connection closed or garbage before end of headers\n");
      r.errors++;
      break;
    }
    int status = 0;
    std::sscanf(head.c_str(), "HTTP/1.%*d %d", &status);
    long long length = -1;
    bool closeAfter = head.compare(0, 8, "HTTP/1.0") == 0;
    std::string lower(head, 0, headEnd + 2);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos)
      length = std::atoll(lower.c_str() + p + 17);
    if (lower.find("\r\nconnection: close") != std::string::npos) closeAfter = true;
    if (lower.find("\r\ntransfer-encoding:") != std::string::npos) length = -1;
    if (status != 200 || length < 0 || (o.expectLength >= 0 && length != o.expectLength)) {
      std::fprintf(stderr, "blobget: bad response: status %d, content-length %lld (want %lld)\n",
                   status, length, o.expectLength);
      r.errors++;
      break;
    }
    size_t already = head.size() - (headEnd + 4);
    if (static_cast<long long>(already) > length) {
      std::fprintf(stderr, "blobget: more bytes than Content-Length\n");
      r.errors++;
      break;
    }
    if (md && already) EVP_DigestUpdate(md, head.data() + headEnd + 4, already);
    unsigned long long offset = 0;  // body bytes so far
    auto compare = [&](const char* p, size_t n) {
      if (!o.expect) return;
      if (offset + n > o.expectSize || std::memcmp(p, o.expect + offset, n) != 0)
        r.sameBytes = false;
    };
    compare(head.data() + headEnd + 4, already);
    offset += already;
    r.bytes += already;
    unsigned long long remaining = static_cast<unsigned long long>(length) - already;
    bool cut = false;
    while (remaining > 0) {
      size_t want = remaining < buf.size() ? static_cast<size_t>(remaining) : buf.size();
      ssize_t n = recv(fd, buf.data(), want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        cut = true;
        break;
      }
      if (md) EVP_DigestUpdate(md, buf.data(), static_cast<size_t>(n));
      compare(buf.data(), static_cast<size_t>(n));
      offset += static_cast<unsigned long long>(n);
      r.bytes += static_cast<unsigned long long>(n);
      remaining -= static_cast<unsigned long long>(n);
      if (!o.once && Clock::now() >= deadline) {
        running = false;
        break;
      }
    }
    if (cut) {
      std::fprintf(stderr, "blobget: body cut off with %llu bytes missing\n", remaining);
      r.errors++;
      break;
    }
    if (remaining == 0) r.responses++;
    if (o.expect && remaining == 0 && (offset != o.expectSize || !r.sameBytes)) {
      std::fprintf(stderr, "blobget: body differs from %s\n", o.expectFile.c_str());
      r.sameBytes = false;
    }
    if (o.once) {
      r.done = secondsSince(t0);
      break;
    }
    if (closeAfter) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) close(fd);
  if (md) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
    r.shaHex = toHex(out, len);
    r.shaOk = r.responses == 1 && r.shaHex == o.sha256;
    if (!r.shaOk) {
      std::fprintf(stderr, "blobget: sha256 mismatch: got %s want %s\n", r.shaHex.c_str(),
                   o.sha256.c_str());
    }
  }
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: blobget -p PORT -u PATH [-H HOST] [-c CONNS] [-d SECONDS] [-l LENGTH]\n"
               "               [-b BUFBYTES] [--once [--sha256 HEX | --expect FILE]]\n");
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
    else if (a == "-c")
      o.conns = std::atoi(next().c_str());
    else if (a == "-d")
      o.seconds = std::atof(next().c_str());
    else if (a == "-l")
      o.expectLength = std::atoll(next().c_str());
    else if (a == "-b")
      o.bufSize = static_cast<size_t>(std::atoll(next().c_str()));
    else if (a == "--once")
      o.once = true;
    else if (a == "--sha256")
      o.sha256 = next();
    else if (a == "--expect")
      o.expectFile = next();
    else
      usage();
  }
  if (o.port <= 0 || o.path.empty() || o.conns <= 0 || o.bufSize < 4096) usage();
  if (o.sha256.rfind("sha256:", 0) == 0) o.sha256.erase(0, 7);
  if (!o.expectFile.empty()) {
    if (!o.once || !o.sha256.empty()) usage();
    int fd = open(o.expectFile.c_str(), O_RDONLY);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) {
      std::fprintf(stderr, "blobget: %s: %s\n", o.expectFile.c_str(), std::strerror(errno));
      return 2;
    }
    o.expectSize = static_cast<size_t>(st.st_size);
    // Mapped and faulted in before the clock starts.
    void* p = o.expectSize == 0
                  ? nullptr
                  : mmap(nullptr, o.expectSize, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "blobget: mmap %s: %s\n", o.expectFile.c_str(), std::strerror(errno));
      return 2;
    }
    o.expect = static_cast<const char*>(p);
  }

  std::vector<Result> results(static_cast<size_t>(o.conns));
  Clock::time_point t0;
  Clock::time_point deadline;
  // The completion step runs once, after every thread has connected: the clock starts there.
  std::barrier start(o.conns, [&]() noexcept {
    t0 = Clock::now();
    deadline =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < o.conns; ++i) {
    threads.emplace_back(
        [&, i] { runConnection(o, results[static_cast<size_t>(i)], start, t0, deadline); });
  }
  for (auto& t : threads) t.join();
  double elapsed = secondsSince(t0);

  Result sum;
  double ttfbMin = 1e9, ttfbMax = 0, doneMin = 1e9, doneMax = 0;
  int shaGood = 0;
  for (auto& r : results) {
    sum.bytes += r.bytes;
    sum.responses += r.responses;
    sum.errors += r.errors;
    ttfbMin = std::min(ttfbMin, r.ttfb);
    ttfbMax = std::max(ttfbMax, r.ttfb);
    doneMin = std::min(doneMin, r.done);
    doneMax = std::max(doneMax, r.done);
    shaGood += (o.expect ? r.responses == 1 && r.sameBytes : r.shaOk) ? 1 : 0;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  if (o.once) {
    const bool checked = !o.sha256.empty() || o.expect;
    bool shaAll = !checked || shaGood == o.conns;
    std::printf(
        "mode=once conns=%d responses=%llu errors=%llu bytes=%llu wall_s=%.3f "
        "first_done_s=%.3f ttfb_min_s=%.4f ttfb_max_s=%.4f body_ok=%d/%d body_check=%s "
        "client_cpu_s=%.2f\n",
        o.conns, sum.responses, sum.errors, sum.bytes, doneMax, doneMin, ttfbMin, ttfbMax,
        checked ? shaGood : 0, checked ? o.conns : 0,
        o.expect ? "file" : (o.sha256.empty() ? "none" : "sha256"), cpu);
    return sum.errors == 0 && shaAll && sum.responses == static_cast<unsigned long long>(o.conns)
               ? 0
               : 1;
  }
  double bps = static_cast<double>(sum.bytes) / elapsed;
  std::printf(
      "mode=duration conns=%d responses=%llu errors=%llu bytes=%llu seconds=%.3f "
      "bytes_per_s=%.0f MiB_per_s=%.1f client_cpu_s=%.2f\n",
      o.conns, sum.responses, sum.errors, sum.bytes, elapsed, bps, bps / 1048576.0, cpu);
  return sum.errors == 0 ? 0 : 1;
}
