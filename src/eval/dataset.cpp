#include "eval/dataset.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "core/json_writer.h"
#include "core/read_file.h"
#include "eval/csv.h"

namespace tandem::eval {
namespace {

namespace fs = std::filesystem;


int Column(const CsvRow& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

Result<double> Quality(const std::string& v, const std::string& where) {
  if (v == "True" || v == "true" || v == "1" || v == "1.0") return 1.0;
  if (v == "False" || v == "false" || v == "0" || v == "0.0") return 0.0;
  try {
    size_t used;
    double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  return Status(Code::kInvalidArgument, where + ": expected True/False or a number, got '" + v + "'");
}

}  // namespace

double Dataset::weak_accuracy() const {
  return weak.empty()
             ? 0
             : std::accumulate(weak.begin(), weak.end(), 0.0) / static_cast<double>(weak.size()) * 100;
}

double Dataset::strong_accuracy() const {
  return strong.empty()
             ? 0
             : std::accumulate(strong.begin(), strong.end(), 0.0) / static_cast<double>(strong.size()) * 100;
}

Result<Dataset> LoadRouteLlm(const std::string& dir) {
  Dataset d;
  d.name = fs::path(dir).filename().string();
  std::set<std::string> contaminated;
  fs::path cont = fs::path(dir) / "contaminated_prompts.jsonl";
  if (fs::exists(cont)) {
    std::ifstream in(cont);
    std::string line;
    simdjson::dom::parser parser;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      std::string_view p;
      simdjson::dom::element e;
      if (parser.parse(line).get(e) || e["eval_prompt"].get(p)) {
        return Status(Code::kInvalidArgument,
                      cont.string() + ":" + std::to_string(n) + ": expected {\"eval_prompt\": ...}");
      }
      contaminated.insert(std::string(p));
    }
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  if (ec) return Status(Code::kNotFound, dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status(Code::kNotFound, dir + ": no .csv files");
  for (const auto& f : files) {
    std::string subject = f.stem().string();  // mmlu_<subject>
    if (subject.rfind("mmlu_", 0) == 0) subject.erase(0, 5);
    auto text = ReadFile(f.string());
    if (!text.ok()) return text.status();
    auto rows = ParseCsv(text.value());
    if (!rows.ok()) return Status(Code::kInvalidArgument, f.string() + ": " + rows.status().message());
    // prompt,<weak model>,<strong model>; also written with a leading index column (pandas' to_csv).
    const CsvRow header = rows->empty() ? CsvRow() : rows->at(0);
    int p = 0, wi = 1, si = 2;
    if (header.size() != 3 || header[0] != "prompt") {
      p = Column(header, "prompt");
      const std::vector<std::string> models = p >= 0 ? OutcomeColumns(*rows) : std::vector<std::string>();
      if (models.size() != 2)
        return Status(Code::kInvalidArgument,
                      f.string() + ": expected the header prompt,<weak model>,<strong model>");
      wi = Column(header, models[0]);
      si = Column(header, models[1]);
    }
    if (d.weak_model.empty()) {
      d.weak_model = header[wi];
      d.strong_model = header[si];
    } else if (header[wi] != d.weak_model || header[si] != d.strong_model) {
      return Status(Code::kInvalidArgument, f.string() + ": its models differ from the other files'");
    }
    for (size_t i = 1; i < rows->size(); ++i) {
      const CsvRow& r = rows->at(i);
      std::string where = f.string() + " row " + std::to_string(i + 1);
      if (r.size() != header.size())
        return Status(Code::kInvalidArgument, where + ": expected " + std::to_string(header.size()) + " fields");
      if (contaminated.count(r[p])) continue;
      auto w = Quality(r[wi], where), s = Quality(r[si], where);
      if (!w.ok()) return w.status();
      if (!s.ok()) return s.status();
      d.prompts.push_back(r[p]);
      d.weak.push_back(w.value());
      d.strong.push_back(s.value());
      d.domains.push_back(subject);
    }
  }
  return d;
}

std::vector<std::string> OutcomeColumns(const std::vector<CsvRow>& rows) {
  std::vector<std::string> out;
  const CsvRow& h = rows.at(0);
  for (size_t j = 0; j < h.size(); ++j) {
    const std::string& name = h[j];
    auto ends = [&](const char* suffix) {
      const size_t n = std::strlen(suffix);
      return name.size() > n && name.compare(name.size() - n, n, suffix) == 0;
    };
    if (name == "prompt" || ends("|total_cost") || ends("|model_response")) continue;  // RouterBench's companions
    if (name.empty() || name == "index" || name == "Unnamed: 0") continue;  // a row index (pandas' to_csv)
    bool any = false, all = true;
    for (size_t i = 1; i < rows.size() && all; ++i) {
      if (j >= rows[i].size() || rows[i][j].empty()) continue;
      auto q = Quality(rows[i][j], "");
      all = q.ok() && q.value() >= 0 && q.value() <= 1;
      any = true;
    }
    if (any && all) out.push_back(h[j]);
  }
  return out;
}

namespace {

std::string Listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

Result<Dataset> LoadRouterBench(const std::string& file, const std::string& weak_in, const std::string& strong_in) {
  auto text = ReadFile(file);
  if (!text.ok()) return text.status();
  auto rows = ParseCsv(text.value());
  if (!rows.ok()) return Status(Code::kInvalidArgument, file + ": " + rows.status().message());
  if (rows->empty()) return Status(Code::kInvalidArgument, file + ": empty");
  const CsvRow& h = rows->at(0);
  int p = Column(h, "prompt");
  if (p < 0) return Status(Code::kInvalidArgument, file + ": no 'prompt' column");
  std::string weak = weak_in, strong = strong_in;
  // The file's model columns, found only where a name is missing or wrong (it reads every cell).
  std::vector<std::string> found;
  auto models = [&]() -> const std::vector<std::string>& {
    if (found.empty()) found = OutcomeColumns(*rows);
    return found;
  };
  auto missing = [&](const char* role, const std::string& name) {
    return Status(Code::kInvalidArgument, file + ": no column for " + role + " model '" + name +
                                              "'; its model columns: " + Listed(models()));
  };
  bool by_accuracy = false;  // two unnamed models: the one right less often becomes the weak one, once read
  if (weak.empty() && strong.empty()) {
    if (Column(h, kDefaultWeak) >= 0 && Column(h, kDefaultStrong) >= 0) {
      weak = kDefaultWeak;
      strong = kDefaultStrong;
    } else if (models().size() == 2) {
      weak = models()[0];
      strong = models()[1];
      by_accuracy = true;
    } else {
      return Status(Code::kInvalidArgument, file + ": which two models? Name them with --weak and --strong; its "
                                                   "model columns: " + Listed(models()));
    }
  } else if (weak.empty() || strong.empty()) {
    // One named: the other is the file's only other model, else the default pair's member for that role.
    const bool need_weak = weak.empty();
    const std::string& named = need_weak ? strong : weak;
    if (Column(h, named) < 0) return missing(need_weak ? "strong" : "weak", named);
    std::vector<std::string> others;
    for (const auto& m : models())
      if (m != named) others.push_back(m);
    const std::string fallback = need_weak ? kDefaultWeak : kDefaultStrong;
    std::string other = others.size() == 1 ? others[0] : "";
    if (other.empty() && Column(h, fallback) >= 0 && fallback != named) other = fallback;
    if (other.empty())
      return Status(Code::kInvalidArgument, file + ": name the " + (need_weak ? "weak" : "strong") + " model with " +
                                                (need_weak ? "--weak" : "--strong") + "; its model columns: " +
                                                Listed(models()));
    (need_weak ? weak : strong) = other;
  }
  int w = Column(h, weak), s = Column(h, strong);
  int wc = Column(h, weak + "|total_cost"), sc = Column(h, strong + "|total_cost");
  if (w < 0) return missing("weak", weak);
  if (s < 0) return missing("strong", strong);
  Dataset d;
  d.name = fs::path(file).stem().string();
  d.weak_model = weak;
  d.strong_model = strong;
  for (size_t i = 1; i < rows->size(); ++i) {
    const CsvRow& r = rows->at(i);
    std::string where = file + " row " + std::to_string(i + 1);
    if (r.size() != h.size())
      return Status(Code::kInvalidArgument, where + ": expected " + std::to_string(h.size()) + " fields");
    if (r[w].empty() || r[s].empty()) {  // RouterBench leaves a few outcomes blank
      ++d.skipped;
      continue;
    }
    auto wq = Quality(r[w], where), sq = Quality(r[s], where);
    if (!wq.ok()) return wq.status();
    if (!sq.ok()) return sq.status();
    d.prompts.push_back(r[p]);
    d.weak.push_back(wq.value());
    d.strong.push_back(sq.value());
    if (wc >= 0 && sc >= 0) {
      auto a = Quality(r[wc], where), b = Quality(r[sc], where);
      if (a.ok() && b.ok()) {
        d.weak_cost.push_back(a.value());
        d.strong_cost.push_back(b.value());
      }
    }
  }
  if (d.weak_cost.size() != d.prompts.size()) {
    d.weak_cost.clear();
    d.strong_cost.clear();
  }
  if (by_accuracy && d.weak_accuracy() > d.strong_accuracy()) {
    std::swap(d.weak_model, d.strong_model);
    std::swap(d.weak, d.strong);
    std::swap(d.weak_cost, d.strong_cost);
  }
  return d;
}

Result<MultiDataset> LoadRouterBenchMulti(const std::string& file, const std::string& models) {
  auto text = ReadFile(file);
  if (!text.ok()) return text.status();
  auto rows = ParseCsv(text.value());
  if (!rows.ok()) return Status(Code::kInvalidArgument, file + ": " + rows.status().message());
  if (rows->empty()) return Status(Code::kInvalidArgument, file + ": empty");
  const CsvRow& h = rows->at(0);
  MultiDataset d;
  d.name = fs::path(file).stem().string();
  if (models == "all") {
    for (const auto& col : h) {
      const std::string suffix = "|total_cost";
      if (col.size() > suffix.size() && col.compare(col.size() - suffix.size(), suffix.size(), suffix) == 0) {
        std::string m = col.substr(0, col.size() - suffix.size());
        if (Column(h, m) >= 0) d.models.push_back(m);
      }
    }
  } else {
    std::stringstream ss(models);
    for (std::string m; std::getline(ss, m, ',');)
      if (!m.empty()) d.models.push_back(m);
  }
  if (d.models.size() < 2)
    return Status(Code::kInvalidArgument, file + ": need at least two models with score and '|total_cost' columns");
  int p = Column(h, "prompt");
  if (p < 0) return Status(Code::kInvalidArgument, file + ": no 'prompt' column");
  std::vector<int> qc, cc;
  for (const auto& m : d.models) {
    qc.push_back(Column(h, m));
    cc.push_back(Column(h, m + "|total_cost"));
    if (qc.back() < 0) return Status(Code::kInvalidArgument, file + ": no column for model '" + m + "'");
    if (cc.back() < 0) return Status(Code::kInvalidArgument, file + ": no column '" + m + "|total_cost'");
  }
  for (size_t i = 1; i < rows->size(); ++i) {
    const CsvRow& r = rows->at(i);
    std::string where = file + " row " + std::to_string(i + 1);
    if (r.size() != h.size())
      return Status(Code::kInvalidArgument, where + ": expected " + std::to_string(h.size()) + " fields");
    std::vector<double> q, c;
    bool blank = false;
    for (size_t m = 0; m < d.models.size(); ++m) {
      if (r[qc[m]].empty() || r[cc[m]].empty()) {
        blank = true;
        break;
      }
      auto qv = Quality(r[qc[m]], where), cv = Quality(r[cc[m]], where);
      if (!qv.ok()) return qv.status();
      if (!cv.ok()) return cv.status();
      q.push_back(qv.value());
      c.push_back(cv.value());
    }
    if (blank) {
      ++d.skipped;
      continue;
    }
    d.prompts.push_back(r[p]);
    d.quality.push_back(std::move(q));
    d.cost.push_back(std::move(c));
  }
  return d;
}

Result<Dataset> LoadJsonl(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status(Code::kNotFound, file + ": cannot open");
  Dataset d;
  d.name = fs::path(file).stem().string();
  d.weak_model = "weak";
  d.strong_model = "strong";
  simdjson::dom::parser parser;
  std::string line;
  int n = 0;
  bool costs = true, scores = true, domains = true;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = file + ":" + std::to_string(n);
    simdjson::dom::element e;
    if (auto err = parser.parse(line).get(e))
      return Status(Code::kInvalidArgument, where + ": malformed JSON (" + simdjson::error_message(err) + ")");
    if (!e.is_object()) return Status(Code::kInvalidArgument, where + ": not a JSON object");
    std::string_view prompt;
    if (e["prompt"].get(prompt))
      return Status(Code::kInvalidArgument, where + ": 'prompt' (string) is required");
    auto quality = [&](const char* key, double& out) -> Status {
      simdjson::dom::element v;
      if (e[key].get(v)) return Status(Code::kInvalidArgument, where + ": '" + key + "' is required");
      if (v.is_bool()) {
        out = v.get_bool().value() ? 1 : 0;
      } else if (v.is_number()) {
        out = v.get_double().value();
      } else {
        return Status(Code::kInvalidArgument, where + ": '" + key + "' must be a boolean or a number");
      }
      return Status::Ok();
    };
    double w, s, wc, sc, score;
    Status st = quality("weak", w);
    if (!st.ok()) return st;
    st = quality("strong", s);
    if (!st.ok()) return st;
    d.prompts.emplace_back(prompt);
    d.weak.push_back(w);
    d.strong.push_back(s);
    if (costs && !e["weak_cost"].get(wc) && !e["strong_cost"].get(sc)) {
      d.weak_cost.push_back(wc);
      d.strong_cost.push_back(sc);
    } else {
      costs = false;
    }
    if (scores && !e["score"].get(score)) {
      d.scores.push_back(score);
    } else {
      scores = false;
    }
    std::string_view slm;
    if (!e["slm"].get(slm)) d.slm = std::string(slm);
    simdjson::dom::object sig;
    if (!e["signals"].get(sig)) {
      for (auto [k, v] : sig) {
        double x;
        if (v.get(x)) continue;
        auto& col = d.signals[std::string(k)];
        if (col.size() + 1 == d.prompts.size()) col.push_back(x);  // a gap anywhere drops the name below
      }
    }
    std::string_view domain;
    if (domains && !e["domain"].get(domain)) {
      d.domains.emplace_back(domain);
    } else {
      domains = false;
    }
  }
  if (!domains) d.domains.clear();
  if (!costs) d.weak_cost.clear(), d.strong_cost.clear();
  if (!scores) d.scores.clear();
  if (!d.slm.empty()) d.weak_model = d.slm;
  std::erase_if(d.signals, [&](const auto& kv) { return kv.second.size() != d.prompts.size(); });
  if (d.prompts.empty()) return Status(Code::kInvalidArgument, file + ": no outcomes");
  return d;
}

Status SaveJsonl(const Dataset& d, const std::string& file, const std::vector<double>& scores) {
  const std::vector<double>& sc = scores.empty() ? d.scores : scores;
  if (!sc.empty() && sc.size() != d.prompts.size())
    return Status(Code::kInvalidArgument, file + ": " + std::to_string(sc.size()) + " scores for " +
                                              std::to_string(d.prompts.size()) + " prompts");
  std::string out;
  for (size_t i = 0; i < d.prompts.size(); ++i) {
    JsonWriter w(out);
    w.begin_object().key("prompt").value(d.prompts[i]);
    w.key("weak").value(d.weak[i]).key("strong").value(d.strong[i]);
    if (!d.weak_cost.empty()) w.key("weak_cost").value(d.weak_cost[i]).key("strong_cost").value(d.strong_cost[i]);
    if (!sc.empty()) w.key("score").value(sc[i]);
    if (!d.domains.empty()) w.key("domain").value(d.domains[i]);
    w.end_object();
    out += '\n';
  }
  std::ofstream f(file, std::ios::binary);
  f << out;
  f.close();
  if (!f) return Status(Code::kInternal, file + ": cannot write");
  return Status::Ok();
}

Result<Dataset> LoadDataset(const std::string& path, const std::string& weak, const std::string& strong) {
  if (fs::is_directory(path)) return LoadRouteLlm(path);
  if (fs::path(path).extension() == ".jsonl") return LoadJsonl(path);
  if (fs::path(path).extension() == ".csv") return LoadRouterBench(path, weak, strong);
  return Status(Code::kInvalidArgument,
                path + ": expected a RouteLLM directory, a RouterBench .csv or a .jsonl file");
}

}  // namespace tandem::eval
