#pragma once
// The bytes one response still owes the socket: memory pieces and file ranges,
// in order. Slots are reused across responses so keep-alive traffic does not
// reallocate the queue.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hoard::http {

class OutputQueue {
 public:
  struct Item {
    std::string data;                  // owned memory piece
    const std::string* ext = nullptr;  // or borrowed memory piece (outlives the item)
    std::size_t done = 0;              // bytes of the memory piece already written
    int fd = -1;                       // file range when >= 0
    std::uint64_t fileOffset = 0;
    std::uint64_t fileRemaining = 0;
    bool body = false;  // counts towards the access log's body bytes

    bool isFile() const { return fd >= 0; }
    const char* memData() const { return (ext ? ext->data() : data.data()) + done; }
    std::size_t memSize() const { return (ext ? ext->size() : data.size()) - done; }
  };

  void pushMemory(std::string data, bool body);
  void pushBorrowed(const std::string* data, bool body);
  void pushFile(int fd, std::uint64_t offset, std::uint64_t length, bool body);

  bool empty() const { return head_ == items_.size(); }
  std::uint64_t bytes() const { return bytes_; }
  const Item& front() const { return items_[head_]; }

  // Fills `iov` with the memory pieces at the front, stopping at a file range.
  // Returns the number of entries; *fileFollows tells whether a file range is next.
  int gather(iovec* iov, int maxIov, std::size_t* total, bool* fileFollows) const;
  // Drops `n` written bytes from the front memory pieces; returns the body bytes among them.
  std::uint64_t consumeMemory(std::size_t n);
  // Advances the front file range by `n` bytes; returns the body bytes among them.
  std::uint64_t consumeFile(std::uint64_t n);
  void clear();

 private:
  void pop();

  std::vector<Item> items_;
  std::size_t head_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace hoard::http
