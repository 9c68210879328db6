// Sandbox: opens resolved beneath a descriptor of the root (openat2, or a no-symlink walk).
#include "agency/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tandem::agency {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

int OpenBeneath(int dir, const char* path, int flags, int mode) {
  open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? static_cast<uint64_t>(mode) : 0;
  how.resolve = kResolve;
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof how));
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  return fd;
}

bool IsSymlink(int dir, const std::string& name) {
  struct stat st;
  return ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

}  // namespace

std::string Quote(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q += '\'';
  q += s;
  q += '\'';
  return q;
}

Sandbox::Sandbox(const std::string& root, Mode mode) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  root_ = Fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root_.get() < 0) {
    status_ = Status(Code::kUnavailable, "cannot open the sandbox folder " + root + ": " + std::strerror(errno));
    return;
  }
  if (mode == Mode::kAuto) {
    Fd probe(OpenBeneath(root_.get(), ".", O_PATH | O_DIRECTORY, 0));
    beneath_ = probe.get() >= 0;  // ENOSYS (old kernel), EPERM (seccomp) or E2BIG: walk instead
  }
}

Result<std::vector<std::string>> Sandbox::Split(std::string_view rel) const {
  if (!status_.ok()) return status_;
  if (rel.find('\0') != std::string_view::npos) return Status(Code::kInvalidArgument, "the path holds a NUL byte");
  if (!rel.empty() && rel.front() == '/')
    return Status(Code::kPermissionDenied, "absolute paths are not allowed: use a path inside the sandbox");
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= rel.size()) {
    size_t end = rel.find('/', at);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view part = rel.substr(at, end - at);
    if (part == "..") return Status(Code::kPermissionDenied, "'..' is not allowed in paths");
    if (!part.empty() && part != ".") parts.emplace_back(part);
    at = end + 1;
  }
  return parts;
}

Result<Fd> Sandbox::OpenParts(const std::vector<std::string>& parts, size_t n, int flags, int mode) const {
  std::string shown(n == 0 ? 1 : 0, '.');  // the root reads "."
  for (size_t i = 0; i < n; ++i) {
    if (i) shown += '/';
    shown += parts[i];
  }
  const std::string quoted = Quote(shown);
  auto fail = [&](int err, int dir, const std::string& name) -> Status {
    switch (err) {
      case EXDEV:
        return Status(Code::kPermissionDenied, quoted + " leads outside the sandbox (through a symbolic link)");
      case ELOOP:  // walk mode: a link; kernel mode: a loop of links or a /proc "magic" link
        return Status(Code::kPermissionDenied,
                      quoted + (beneath_ ? " goes through a symbolic link that cannot be followed (a loop?)"
                                         : " goes through a symbolic link, which this sandbox does not follow"));
      case ENOTDIR:
        if (dir >= 0 && IsSymlink(dir, name))
          return Status(Code::kPermissionDenied,
                        quoted + " goes through a symbolic link, which this sandbox does not follow");
        return Status(Code::kInvalidArgument, "a part of " + quoted + " is not a folder");
      case ENOENT:
        return Status(Code::kNotFound, "no such file or folder: " + shown);
      case EISDIR:
        return Status(Code::kInvalidArgument, quoted + " is a folder, not a file");
      default:
        return Status(Code::kPermissionDenied, "cannot open " + quoted + ": " + std::strerror(err));
    }
  };
  if (n == 0) {
    Fd fd(::openat(root_.get(), ".", flags | O_CLOEXEC, mode));
    if (fd.get() < 0) return fail(errno, -1, ".");
    return fd;
  }
  if (beneath_) {
    Fd fd(OpenBeneath(root_.get(), shown.c_str(), flags, mode));
    if (fd.get() < 0) return fail(errno, -1, shown);
    return fd;
  }
  // Walk mode: one component at a time from the descriptor of the one before, never following a link.
  Fd dir;
  int at = root_.get();
  for (size_t i = 0; i + 1 < n; ++i) {
    Fd next(::openat(at, parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) return fail(errno, at, parts[i]);
    dir = std::move(next);
    at = dir.get();
  }
  Fd fd(::openat(at, parts[n - 1].c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) return fail(errno, at, parts[n - 1]);
  return fd;
}

Result<Fd> Sandbox::Open(std::string_view rel, int flags, int mode) const {
  auto parts = Split(rel);
  if (!parts.ok()) return parts.status();
  return OpenParts(*parts, parts->size(), flags, mode);
}

Status Sandbox::MakeParents(std::string_view rel) const {
  auto parts = Split(rel);
  if (!parts.ok()) return parts.status();
  for (size_t i = 0; i + 1 < parts->size(); ++i) {
    // The parent is opened (and so checked) before each folder is made in it: mkdirat never follows a link.
    auto parent = OpenParts(*parts, i, O_PATH | O_DIRECTORY, 0);
    if (!parent.ok()) return parent.status();
    if (::mkdirat(parent->get(), (*parts)[i].c_str(), 0755) != 0 && errno != EEXIST)
      return Status(Code::kPermissionDenied, "cannot create the folder " + Quote((*parts)[i]) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Sandbox::List(std::string_view rel) const {
  auto fd = Open(rel, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  DIR* d = ::fdopendir(fd->get());
  if (d == nullptr) return Status(Code::kInternal, std::string("cannot list the folder: ") + std::strerror(errno));
  fd->release();  // the DIR owns it now
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    names.push_back(is_dir ? name + "/" : name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tandem::agency
