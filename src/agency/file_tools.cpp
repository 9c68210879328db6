// read_file, write_file, list_files: inside one sandbox folder, nowhere else.
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agency/builtin_tools.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxRead = 1 << 20;

class Sandbox {
 public:
  explicit Sandbox(const std::string& root) {
    std::error_code ec;
    fs::create_directories(root, ec);
    root_ = fs::weakly_canonical(fs::absolute(root), ec);
  }
  // The real path for a model-supplied relative path, or an error message.
  Result<fs::path> Resolve(std::string_view rel) const {
    if (rel.empty()) return root_;
    fs::path p(std::string{rel});
    if (p.is_absolute()) return Status(Code::kPermissionDenied, "absolute paths are not allowed: use a path inside the sandbox");
    for (const auto& part : p)
      if (part == "..") return Status(Code::kPermissionDenied, "'..' is not allowed in paths");
    std::error_code ec;
    fs::path full = fs::weakly_canonical(root_ / p, ec);  // resolves symlinks that exist
    if (ec) return Status(Code::kInvalidArgument, "bad path: " + ec.message());
    auto [r, f] = std::mismatch(root_.begin(), root_.end(), full.begin(), full.end());
    if (r != root_.end()) return Status(Code::kPermissionDenied, "the path leads outside the sandbox");
    // A symbolic link still standing here points at nothing yet (weakly_canonical resolves the ones whose
    // target exists), so writing through it would create its target, wherever that is.
    if (fs::is_symlink(fs::symlink_status(full, ec)))
      return Status(Code::kPermissionDenied, "the path is a symbolic link to nothing: it may lead outside the sandbox");
    return full;
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

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

class ReadFile final : public Tool {
 public:
  explicit ReadFile(std::shared_ptr<Sandbox> box) : box_(std::move(box)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds) override {
    Args a(args);
    auto path = box_->Resolve(a.str("path"));
    if (!path.ok()) return ToolResult{path.status().message(), true};
    std::ifstream in(*path, std::ios::binary);
    if (!in || fs::is_directory(*path)) return ToolResult{"no such file: " + a.str("path"), true};
    std::string data(kMaxRead + 1, '\0');
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<size_t>(in.gcount()));
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
    auto path = box_->Resolve(a.str("path"));
    if (!path.ok()) return ToolResult{path.status().message(), true};
    std::error_code ec;
    fs::create_directories(path->parent_path(), ec);
    const std::string content = a.str("content");
    std::ofstream out(*path, std::ios::binary | (a.flag("append") ? std::ios::app : std::ios::trunc));
    out << content;
    if (!out.flush()) return ToolResult{"cannot write " + a.str("path"), true};
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
    auto path = box_->Resolve(a.str("path"));
    if (!path.ok()) return ToolResult{path.status().message(), true};
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(*path, ec))
      names.push_back(e.path().filename().string() + (e.is_directory() ? "/" : ""));
    if (ec) return ToolResult{"cannot list " + a.str("path") + ": " + ec.message(), true};
    std::sort(names.begin(), names.end());
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    for (const auto& n : names) w.value(n);
    w.end_array();
    return ToolResult{out, false};
  }

 private:
  std::shared_ptr<Sandbox> box_;
  ToolSpec spec_{"list_files", "List the files of a folder in the sandbox (the root when no path is given).",
                 R"({"type":"object","properties":{"path":{"type":"string"}},"additionalProperties":false})"};
};

}  // namespace

std::vector<std::shared_ptr<Tool>> MakeFileTools(const std::string& sandbox_root) {
  auto box = std::make_shared<Sandbox>(sandbox_root);
  return {std::make_shared<ReadFile>(box), std::make_shared<WriteFile>(box), std::make_shared<ListFiles>(box)};
}

}  // namespace tandem::agency
