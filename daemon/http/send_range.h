#pragma once
// Blocking part of zero-copy file serving; runs on the libuv threadpool
// because the file read inside sendfile() may hit the disk.
//
// Must survive: a non-blocking socket filling up (stops with EAGAIN and
// reports what went out), the peer resetting (EPIPE/ECONNRESET; SIGPIPE must be
// ignored by the process, see Server), a file shorter than the range (ENODATA),
// and filesystems without sendfile support (EINVAL/ENOSYS: pread + send).
#include <cstdint>

namespace hoard::http {

struct SendRangeResult {
  std::uint64_t sent = 0;
  int error = 0;  // 0: whole range sent; EAGAIN: socket full; otherwise errno
};

SendRangeResult sendRange(int sock, int fd, std::uint64_t offset, std::uint64_t length);

}  // namespace hoard::http
