// Sandbox: one folder that the file tools may open files in, and nothing outside it.
//
// A model-supplied path is relative to the root. Absolute paths and ".." are refused up front with a plain
// message. Every open then resolves the path *relative to a descriptor of the root held since construction*,
// so no check happens apart from the open itself: nothing swapped in between (a symbolic link planted by another
// process) can lead the open elsewhere.
// - Kernel mode (Linux 5.6+): openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS. Symbolic links that stay
//   inside the root are followed; one that leads outside (or is absolute) fails the open.
// - Walk mode (where openat2 is missing or filtered): each component is opened with O_NOFOLLOW from the
//   descriptor of the one before, so no symbolic link is followed at all.
// The constructor picks kernel mode when the kernel answers openat2; tests can ask for walk mode.
// Thread-safe: the root descriptor is read-only after construction; every call opens its own descriptors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tandem::agency {

// An owned file descriptor; closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// 'text', as the sandbox's messages name a path.
std::string Quote(std::string_view s);

class Sandbox {
 public:
  enum class Mode { kAuto, kWalk };
  // Creates the root folder if missing. A root that cannot be opened leaves every later call failing with
  // status().
  explicit Sandbox(const std::string& root, Mode mode = Mode::kAuto);

  const Status& status() const { return status_; }
  bool kernel_beneath() const { return beneath_; }

  // Opens `rel` (empty: the root) with open(2) flags; O_CLOEXEC is added. Errors name what went wrong in words a
  // model can act on: outside the sandbox, a symbolic link, no such file.
  Result<Fd> Open(std::string_view rel, int flags, int mode = 0644) const;
  // Creates the folders leading to `rel` (not `rel` itself), each inside the sandbox.
  Status MakeParents(std::string_view rel) const;
  // The entries of the folder `rel`, sorted, folders marked with a trailing '/'.
  Result<std::vector<std::string>> List(std::string_view rel) const;

 private:
  Result<std::vector<std::string>> Split(std::string_view rel) const;
  Result<Fd> OpenParts(const std::vector<std::string>& parts, size_t n, int flags, int mode) const;

  Status status_;
  Fd root_;
  bool beneath_ = false;
};

}  // namespace tandem::agency
