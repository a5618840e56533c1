#include "daemon/http/output_queue.h"

#include <algorithm>
#include <utility>

namespace hoard::http {

void OutputQueue::pushMemory(std::string data, bool body) {
  if (data.empty()) return;
  bytes_ += data.size();
  Item& it = items_.emplace_back();
  it.data = std::move(data);
  it.body = body;
}

void OutputQueue::pushBorrowed(const std::string* data, bool body) {
  if (data->empty()) return;
  bytes_ += data->size();
  Item& it = items_.emplace_back();
  it.ext = data;
  it.body = body;
}

void OutputQueue::pushFile(int fd, std::uint64_t offset, std::uint64_t length, bool body) {
  if (length == 0) return;
  bytes_ += length;
  // A range that continues the last one extends it: a reader following a
  // fill queues each newly written piece, and one sendfile job then takes
  // everything that arrived while the previous job ran. Extending the range
  // a job is sending is safe: the job copied its offset and length, and
  // consumeFile() leaves the rest queued.
  if (head_ < items_.size()) {
    Item& last = items_.back();
    if (last.isFile() && last.fd == fd && last.body == body &&
        last.fileOffset + last.fileRemaining == offset) {
      last.fileRemaining += length;
      return;
    }
  }
  Item& it = items_.emplace_back();
  it.fd = fd;
  it.fileOffset = offset;
  it.fileRemaining = length;
  it.body = body;
}

int OutputQueue::gather(iovec* iov, int maxIov, std::size_t* total, bool* fileFollows) const {
  int n = 0;
  *total = 0;
  *fileFollows = false;
  for (std::size_t i = head_; i < items_.size() && n < maxIov; ++i) {
    const Item& it = items_[i];
    if (it.isFile()) {
      *fileFollows = true;
      break;
    }
    iov[n].iov_base = const_cast<char*>(it.memData());
    iov[n].iov_len = it.memSize();
    *total += it.memSize();
    ++n;
  }
  return n;
}

std::uint64_t OutputQueue::consumeMemory(std::size_t n) {
  std::uint64_t body = 0;
  while (n > 0 && !empty()) {
    Item& it = items_[head_];
    if (it.isFile()) break;
    std::size_t take = std::min(n, it.memSize());
    it.done += take;
    n -= take;
    bytes_ -= take;
    if (it.body) body += take;
    if (it.memSize() == 0) pop();
  }
  return body;
}

std::uint64_t OutputQueue::consumeFile(std::uint64_t n) {
  if (empty() || !items_[head_].isFile()) return 0;
  Item& it = items_[head_];
  std::uint64_t take = std::min(n, it.fileRemaining);
  it.fileOffset += take;
  it.fileRemaining -= take;
  bytes_ -= take;
  bool body = it.body;
  if (it.fileRemaining == 0) pop();
  return body ? take : 0;
}

void OutputQueue::pop() {
  items_[head_] = Item{};  // frees the memory piece now, not when the slot is reused
  ++head_;
  if (head_ == items_.size()) {
    items_.clear();  // keeps capacity
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
    // A long streamed response pushes and pops forever; do not let dead slots pile up.
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutputQueue::clear() {
  items_.clear();
  head_ = 0;
  bytes_ = 0;
}

}  // namespace hoard::http
