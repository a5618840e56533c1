#include "daemon/http/send_range.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace hoard::http {
namespace {

constexpr std::uint64_t kMaxSendfileChunk = 0x7ffff000;  // Linux caps one call at this anyway

SendRangeResult copyRange(int sock, int fd, std::uint64_t offset, std::uint64_t length,
                          SendRangeResult r) {
  constexpr std::size_t kBuf = 64UL * 1024;
  auto buf = std::make_unique<char[]>(kBuf);
  while (r.sent < length) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kBuf, length - r.sent));
    ssize_t n = ::pread(fd, buf.get(), want, static_cast<off_t>(offset + r.sent));
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = errno;
      return r;
    }
    if (n == 0) {
      r.error = ENODATA;
      return r;
    }
    std::size_t off = 0;
    while (off < static_cast<std::size_t>(n)) {
      ssize_t w = ::send(sock, buf.get() + off, static_cast<std::size_t>(n) - off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        r.error = errno == EWOULDBLOCK ? EAGAIN : errno;
        return r;  // bytes read but not sent are read again next time
      }
      off += static_cast<std::size_t>(w);
      r.sent += static_cast<std::uint64_t>(w);
    }
  }
  return r;
}

}  // namespace

SendRangeResult sendRange(int sock, int fd, std::uint64_t offset, std::uint64_t length) {
  SendRangeResult r;
  while (r.sent < length) {
    off_t off = static_cast<off_t>(offset + r.sent);
    std::size_t chunk = static_cast<std::size_t>(std::min(length - r.sent, kMaxSendfileChunk));
    ssize_t n = ::sendfile(sock, fd, &off, chunk);
    if (n > 0) {
      r.sent += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) {
      r.error = ENODATA;  // the file ended before the range did
      return r;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      r.error = EAGAIN;
      return r;
    }
    if (errno == EINVAL || errno == ENOSYS) return copyRange(sock, fd, offset, length, r);
    r.error = errno;
    return r;
  }
  return r;
}

}  // namespace hoard::http
