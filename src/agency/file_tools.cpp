// read_file, write_file, list_files: inside one sandbox folder, nowhere else.
#include <simdjson.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agency/builtin_tools.h"
#include "agency/sandbox.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

constexpr size_t kMaxRead = 1 << 20;

struct Args {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  explicit Args(std::string_view json) {
    if (parser.parse(json.data(), json.size()).get(doc)) doc = simdjson::dom::element();
  }
  std::string str(const char* key) const {
    std::string_view v;
    return doc.is_object() && !doc[key].get(v) ? std::string(v) : std::string();
  }
  bool flag(const char* key) const {
    bool v = false;
    return doc.is_object() && !doc[key].get(v) && v;
  }
};

// A file with more than one name may be the same file as one outside the sandbox (a hard link made by someone
// who can write both places); the path alone cannot tell, so such files are neither read nor written.
std::string HardLinkRefusal(const std::string& rel) {
  return Quote(rel) + " has other hard links, which may lie outside the sandbox; the file tools do not open it";
}

class ReadFile final : public Tool {
 public:
  explicit ReadFile(std::shared_ptr<Sandbox> box) : box_(std::move(box)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds) override {
    Args a(args);
    auto fd = box_->Open(a.str("path"), O_RDONLY | O_NONBLOCK);  // a FIFO planted here must not hang the call
    if (!fd.ok()) return ToolResult{fd.status().message(), true};
    struct stat st;
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
      return ToolResult{Quote(a.str("path")) + " is not a regular file", true};
    if (st.st_nlink > 1) return ToolResult{HardLinkRefusal(a.str("path")), true};
    std::string data(kMaxRead + 1, '\0');
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::read(fd->get(), data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ToolResult{"cannot read " + a.str("path") + ": " + std::strerror(errno), true};
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    if (data.size() > kMaxRead) {
      data.resize(kMaxRead);
      data += "\n[truncated at 1 MiB]";
    }
    return ToolResult{data, false};
  }

 private:
  std::shared_ptr<Sandbox> box_;
  ToolSpec spec_{"read_file", "Read a text file from the sandbox folder.",
                 R"({"type":"object","properties":{"path":{"type":"string","description":"Relative path"}},)"
                 R"("required":["path"],"additionalProperties":false})"};
};

class WriteFile final : public Tool {
 public:
  explicit WriteFile(std::shared_ptr<Sandbox> box) : box_(std::move(box)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds) override {
    Args a(args);
    const std::string rel = a.str("path");
    if (Status made = box_->MakeParents(rel); !made.ok()) return ToolResult{made.message(), true};
    // Not O_TRUNC: the file is checked before anything in it changes.
    const bool append = a.flag("append");
    auto fd = box_->Open(rel, O_WRONLY | O_CREAT | O_NONBLOCK | (append ? O_APPEND : 0));
    if (!fd.ok()) return ToolResult{fd.status().message(), true};
    struct stat st;
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
      return ToolResult{Quote(rel) + " is not a regular file", true};
    if (st.st_nlink > 1) return ToolResult{HardLinkRefusal(rel), true};
    if (!append && ::ftruncate(fd->get(), 0) != 0)
      return ToolResult{"cannot write " + rel + ": " + std::strerror(errno), true};
    const std::string content = a.str("content");
    for (size_t done = 0; done < content.size();) {
      ssize_t n = ::write(fd->get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ToolResult{"cannot write " + rel + ": " + std::strerror(errno), true};
      done += static_cast<size_t>(n);
    }
    return ToolResult{"wrote " + std::to_string(content.size()) + " bytes to " + a.str("path"), false};
  }

 private:
  std::shared_ptr<Sandbox> box_;
  ToolSpec spec_{"write_file", "Write (or append to) a text file in the sandbox folder.",
                 R"({"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"},)"
                 R"("append":{"type":"boolean"}},"required":["path","content"],"additionalProperties":false})"};
};

class ListFiles final : public Tool {
 public:
  explicit ListFiles(std::shared_ptr<Sandbox> box) : box_(std::move(box)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds) override {
    Args a(args);
    auto names = box_->List(a.str("path"));
    if (!names.ok()) return ToolResult{names.status().message(), true};
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    for (const auto& n : *names) w.value(n);
    w.end_array();
    return ToolResult{out, false};
  }

 private:
  std::shared_ptr<Sandbox> box_;
  ToolSpec spec_{"list_files", "List the files of a folder in the sandbox (the root when no path is given).",
                 R"({"type":"object","properties":{"path":{"type":"string"}},"additionalProperties":false})"};
};

}  // namespace

std::vector<std::shared_ptr<Tool>> MakeFileTools(const std::string& sandbox_root, bool walk_only) {
  auto box = std::make_shared<Sandbox>(sandbox_root, walk_only ? Sandbox::Mode::kWalk : Sandbox::Mode::kAuto);
  return {std::make_shared<ReadFile>(box), std::make_shared<WriteFile>(box), std::make_shared<ListFiles>(box)};
}

}  // namespace tandem::agency
