#include "providers/local_provider.h"

#include <simdjson.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/json_writer.h"
#include "engine/chat/chat_template.h"
#include "engine/generate/batch.h"
#include "engine/generate/embed.h"
#include "engine/generate/generate.h"
#include "engine/generate/score.h"
#include "engine/generate/json_constraint.h"
#include "engine/model/model.h"

namespace tandem {

namespace {

// The most tool calls one constrained answer may hold: a small model can otherwise repeat a call until its
// token budget ends (SmolLM2 wrote 114 identical calls for one question).
constexpr int kMaxToolCalls = 8;

// Watches a constrained tool answer ({"tool_calls": [{...}, {...}, ...) as it is written and says when the call
// just completed repeats an earlier one: a small model offered a tool can repeat its call until the token budget
// ends. Bytes only; the constraint guarantees the shape. Not thread-safe; one per generation.
class RepeatedCallWatch {
 public:
  // Feeds the next piece; true when a call that repeats an earlier one has just closed. cut() then is the
  // offset just past the last distinct call.
  bool Feed(std::string_view piece) {
    for (char c : piece) {
      const size_t at = text_.size();
      text_.push_back(c);
      if (in_string_) {
        if (escaped_) escaped_ = false;
        else if (c == '\\') escaped_ = true;
        else if (c == '"') in_string_ = false;
        continue;
      }
      if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        if (++depth_ == 3) call_start_ = at;  // {"tool_calls": [ {call} ...
      } else if (c == '}' || c == ']') {
        if (depth_-- == 3 && c == '}') {
          std::string call = text_.substr(call_start_);
          if (std::find(calls_.begin(), calls_.end(), call) != calls_.end()) return true;
          calls_.push_back(std::move(call));
          cut_ = at + 1;
        }
      }
    }
    return false;
  }
  size_t cut() const { return cut_; }

 private:
  std::string text_;
  std::vector<std::string> calls_;
  size_t call_start_ = 0, cut_ = 0;
  int depth_ = 0;
  bool in_string_ = false, escaped_ = false;
};

// One request's hand-off between its event loop and the engine thread.
struct Job {
  std::vector<engine::ChatTurn> turns;
  std::string tools_json;
  engine::GenerateOptions opts;
  bool encode = false;      // only embed the prompt (the SLM-scored router), no generation
  std::vector<float> pooled;  // encode: the prompt's pooled hidden states
  std::vector<std::string> choices;  // non-empty: only score these continuations (ScoreChoices), no generation
  engine::ContinuationScores scores;
  bool json = false;        // response_format json_object / json_schema
  bool tool_mode = false;   // tools offered: the answer is constrained to {"tool_calls": [...]} and returned as calls
  std::string json_schema;  // empty: any JSON object
  std::string json_schema_fallback;  // tools whose schemas the constraint cannot follow: free-form arguments
  bool parallel_tool_calls = true;   // false: at most one call in the answer
  // Tool mode: where the answer was cut because the model repeated a call it had made (npos: not cut).
  size_t tool_cut = std::string::npos;  // guarded by mu
  std::unique_ptr<engine::JsonConstraint> constraint;  // engine thread only, from Start() to the end
  RepeatedCallWatch watch;                             // engine thread only

  std::mutex mu;
  struct Piece {
    std::string text;
    std::vector<engine::GeneratedToken> tokens;  // behind this text (for streamed logprobs)
  };
  std::deque<Piece> pieces;  // guarded by mu
  bool done = false;         // guarded by mu
  Status status;             // guarded by mu
  engine::GenerateResult result;
  std::atomic<bool> cancelled{false};
  std::function<void()> wake;  // posts a wake-up to the requester's event loop; set before queuing
};

// The engine's slot count for a model: `slots`, or 8 under 2B parameters (4 above), cut to what `kv_budget_mb`
// holds at the full context (at least one).
int SlotsFor(const engine::Model& m, int n_ctx, const ModelInfo& info) {
  int64_t params = 0;
  for (const auto& t : m.file().tensors()) params += t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3];
  int slots = info.slots > 0 ? info.slots : params < 2'000'000'000 ? 8 : 4;
  if (info.kv_budget_mb > 0) {
    const engine::ModelConfig& c = m.config();
    const int64_t per_slot = int64_t{2} * 2 * c.n_layer * c.kv_dim() * n_ctx;  // K and V, fp16
    slots = static_cast<int>(std::clamp<int64_t>(info.kv_budget_mb * 1024 * 1024 / per_slot, 1, slots));
  }
  return slots;
}

}  // namespace

// One model served in-process: the engine thread runs an engine::Batch over the model's slots. Between steps it
// admits queued jobs in arrival order — a generation joins the batch; a quiet job (scoring, encoding) runs at
// once, alone, on a free slot's session — then runs one step for every active generation. Submit() never blocks
// a network thread: when every slot is busy and the queue is full it refuses.
class LocalEngine {
 public:
  static Result<std::shared_ptr<LocalEngine>> Get(const ModelInfo& info) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<LocalEngine>> engines;
    const std::string key = info.gguf_path + "#" + std::to_string(info.threads) + "#" + std::to_string(info.context) +
                            "#" + std::to_string(info.slots) + "#" + std::to_string(info.queue) + "#" +
                            std::to_string(info.kv_budget_mb) + "#" +
                            std::to_string(info.prefix_cache_mb);
    std::lock_guard<std::mutex> lock(mu);
    if (auto e = engines[key].lock()) return e;
    auto model = engine::Model::Load(info.gguf_path);
    if (!model.ok()) return model.status();
    auto e = std::shared_ptr<LocalEngine>(new LocalEngine(*model, info));
    engines[key] = e;
    return e;
  }

  ~LocalEngine() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  const engine::Model& model() const { return *model_; }
  const engine::ChatTemplate& chat_template() const { return template_; }
  int slots() const { return slots_; }
  int queue_limit() const { return queue_limit_; }

  // Queues a job; false when all slots are busy and `queue_limit` jobs already wait.
  bool Submit(std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (static_cast<int>(queue_.size()) >= queue_limit_ + free_slots_) return false;
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

 private:
  LocalEngine(std::shared_ptr<engine::Model> model, const ModelInfo& info)
      : model_(std::move(model)),
        template_(engine::ChatTemplate::Detect(model_->config().chat_template, model_->config().arch)),
        pool_(info.threads),
        slots_(SlotsFor(*model_, std::min(info.context, model_->config().n_ctx_train), info)),
        queue_limit_(info.queue > 0 ? info.queue : 2 * slots_),
        free_slots_(slots_),
        batch_(model_, slots_, std::min(info.context, model_->config().n_ctx_train), &pool_, kPrefillChunk,
               info.prefix_cache_mb * 1024 * 1024),
        thread_([this] { Loop(); }) {}

  // Prompt tokens one sequence prefills per step: small enough that running streams do not stall on a long
  // prompt, large enough for the batched kernels.
  static constexpr int kPrefillChunk = 64;

  void Loop() {
    while (true) {
      std::vector<std::shared_ptr<Job>> admitted;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty() || batch_.active() > 0; });
        if (stop_) return;
        // In arrival order, as long as a slot is free (a quiet job borrows one and gives it back at once).
        int free = batch_.slots() - batch_.active();
        while (!queue_.empty() && free > 0) {
          admitted.push_back(std::move(queue_.front()));
          queue_.pop_front();
          if (!Quiet(*admitted.back())) --free;
        }
      }
      for (auto& job : admitted) Start(job);
      batch_.Step();
      std::lock_guard<std::mutex> lock(mu_);
      free_slots_ = batch_.slots() - batch_.active();
    }
  }

  static bool Quiet(const Job& job) { return job.encode || !job.choices.empty(); }

  static void Finish(Job& job, Status s) {
    {
      std::lock_guard<std::mutex> lock(job.mu);
      job.status = std::move(s);
      job.done = true;
    }
    job.wake();
  }

  void Start(const std::shared_ptr<Job>& job) {
    if (job->cancelled) return Finish(*job, Status(Code::kCancelled, "cancelled while queued"));
    const std::string prompt = template_.Render(job->turns, job->tools_json);
    const std::vector<int32_t> ids = model_->tokenizer().Encode(prompt, true, true);
    if (Quiet(*job)) return Finish(*job, RunQuiet(*job, ids));
    job->opts.stop.insert(job->opts.stop.end(), template_.stops.begin(), template_.stops.end());
    if (job->json) {
      if (!trie_) trie_ = std::make_shared<engine::TokenTrie>(model_->tokenizer());
      auto c = engine::JsonConstraint::Create(model_->tokenizer(), trie_, job->json_schema);
      if (!c.ok() && !job->json_schema_fallback.empty())
        c = engine::JsonConstraint::Create(model_->tokenizer(), trie_, job->json_schema_fallback);
      if (!c.ok()) return Finish(*job, c.status());
      job->constraint = std::move(*c);
      job->opts.constraint = job->constraint.get();
      job->opts.stop.clear();  // the grammar decides where the answer ends
    }
    Job* j = job.get();  // the batch's callbacks hold the job alive through `keep`
    auto on_text = [j, keep = job](std::string_view delta, const std::vector<engine::GeneratedToken>& t) {
      const bool repeated = j->tool_mode && j->watch.Feed(delta);
      {
        std::lock_guard<std::mutex> lock(j->mu);
        j->pieces.push_back({std::string(delta), t});
        if (repeated) j->tool_cut = j->watch.cut();
      }
      j->wake();
      return !repeated && !j->cancelled.load();  // a repeated call ends the answer
    };
    Status added = batch_.Add(
        ids, std::make_unique<engine::Generation>(*model_, j->opts, on_text), [j] { return j->cancelled.load(); },
        [j, keep = job](Status s, engine::GenerateResult& r) {
          j->result = std::move(r);
          Finish(*j, std::move(s));
        });
    if (!added.ok()) Finish(*job, added);
  }

  // Scoring or encoding, alone on a free slot's session (the one sharing the longest prefix with the prompt).
  Status RunQuiet(Job& job, const std::vector<int32_t>& ids) {
    engine::Session* session = batch_.FreeSession(ids);
    if (!session) return Status(Code::kUnavailable, "no free slot");  // Loop() admits a quiet job only when one is
    if (!job.choices.empty()) {
      std::vector<std::vector<int32_t>> candidates;
      for (const auto& c : job.choices) candidates.push_back(model_->tokenizer().Encode(c, false, false));
      auto scored = engine::ScoreContinuations(*session, ids, candidates);
      if (!scored.ok()) return scored.status();
      batch_.Remember(*session, static_cast<int>(ids.size()));
      job.scores = std::move(*scored);
      return Status::Ok();
    }
    auto pooled = engine::EmbedPrompt(*session, ids);
    if (!pooled.ok()) return pooled.status();
    job.pooled = std::move(*pooled);
    job.result.prompt_tokens = static_cast<int>(ids.size());
    return Status::Ok();
  }

  std::shared_ptr<engine::Model> model_;
  engine::ChatTemplate template_;
  engine::ThreadPool pool_;
  const int slots_, queue_limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  int free_slots_;                          // guarded by mu_: slots the batch had free after its last step
  bool stop_ = false;                       // guarded by mu_
  engine::Batch batch_;                             // engine thread only
  std::shared_ptr<const engine::TokenTrie> trie_;   // built on the first JSON request (engine thread only)
  std::thread thread_;
};

namespace {

// Request parameters from the verbatim top-level fields.
Status ReadOptions(const ChatRequest& req, const ModelInfo& info, Job& job) {
  thread_local simdjson::dom::parser parser;  // no allocation per request
  engine::GenerateOptions& o = job.opts;
  o.max_tokens = req.max_tokens ? static_cast<int>(*req.max_tokens) : std::max(16, info.context / 4);
  for (const auto& [key, value] : req.fields) {
    simdjson::dom::element v;
    if (parser.parse(value).get(v)) continue;
    double d;
    int64_t i;
    if (key == "temperature" && !v.get(d)) o.sampling.temperature = static_cast<float>(d);
    else if (key == "top_p" && !v.get(d)) o.sampling.top_p = static_cast<float>(d);
    else if (key == "top_k" && !v.get(i)) o.sampling.top_k = static_cast<int>(i);
    else if (key == "min_p" && !v.get(d)) o.sampling.min_p = static_cast<float>(d);
    else if (key == "repeat_penalty" && !v.get(d)) o.sampling.repeat_penalty = static_cast<float>(d);
    else if (key == "seed" && !v.get(i)) o.sampling.seed = static_cast<uint64_t>(i);
    else if (key == "logprobs" && v.is_bool()) o.logprobs = v.get_bool().value();
    else if (key == "top_logprobs" && !v.get(i)) o.top_logprobs = static_cast<int>(std::clamp<int64_t>(i, 0, 20));
    else if (key == "n" && !v.get(i) && i != 1)
      return Status(Code::kInvalidArgument, "n: local model " + info.name + " returns one choice (n = 1)");
    else if (key == "stop") {
      std::string_view s;
      if (!v.get(s)) {
        o.stop.emplace_back(s);
      } else if (v.is_array()) {
        for (auto e : v.get_array()) {
          if (!e.get(s)) o.stop.emplace_back(s);
        }
      }
    } else if (key == "response_format") {
      std::string_view type;
      if (v["type"].get(type)) return Status(Code::kInvalidArgument, "response_format.type is required");
      if (type == "json_object") {
        job.json = true;
      } else if (type == "json_schema") {
        simdjson::dom::element schema;
        if (v["json_schema"]["schema"].get(schema))
          return Status(Code::kInvalidArgument, "response_format.json_schema.schema is required");
        job.json = true;
        job.json_schema = simdjson::minify(schema);
      } else if (type != "text") {
        return Status(Code::kInvalidArgument, "response_format.type: '" + std::string(type) +
                                                  "' is not one of text, json_object, json_schema");
      }
    } else if (key == "tools") {
      job.tools_json = value;
    } else if (key == "parallel_tool_calls" && v.is_bool()) {
      job.parallel_tool_calls = v.get_bool().value();
    }
  }
  if (o.max_tokens <= 0) return Status(Code::kInvalidArgument, "max_tokens must be positive");
  if (req.tool_choice_none) job.tools_json.clear();
  if (!job.tools_json.empty() && !job.json) {
    // Tool calls by constrained decoding: the model can only write {"tool_calls": [{"name": <one of the tools>,
    // "arguments": <that tool's arguments>}, ...]} (an empty list when no tool fits), so a call always parses.
    simdjson::dom::element tools;
    if (parser.parse(job.tools_json).get(tools) || !tools.is_array())
      return Status(Code::kInvalidArgument, "tools: expected an array");
    std::string names, alternatives;
    JsonWriter nw(names), aw(alternatives);
    nw.begin_array();
    aw.begin_array();
    simdjson::dom::array list = tools.get_array().value_unsafe();
    size_t n = 0;
    for (simdjson::dom::element t : list) {
      std::string_view name;
      if (t["function"]["name"].get(name)) return Status(Code::kInvalidArgument, "tools[].function.name is required");
      nw.value(name);
      simdjson::dom::element params;
      const std::string schema = t["function"]["parameters"].get(params) ? R"({"type":"object"})" : simdjson::minify(params);
      aw.begin_object().kv("type", "object").key("properties").begin_object();
      aw.key("name").begin_object().kv("const", name).end_object().key("arguments").raw(schema).end_object();
      aw.key("required").begin_array().value("name").value("arguments").end_array().end_object();
      ++n;
    }
    nw.end_array();
    aw.end_array();
    if (n > 0) {
      // Each call's arguments follow its tool's own schema (a tagged union on the name); a schema the
      // constraint cannot follow falls back to free-form arguments that are still always a JSON object.
      // At most kMaxToolCalls calls in one answer (one when the client said parallel_tool_calls: false).
      const std::string cap = std::to_string(job.parallel_tool_calls ? kMaxToolCalls : 1);
      job.json = job.tool_mode = true;
      job.json_schema = R"({"type":"object","properties":{"tool_calls":{"type":"array","maxItems":)" + cap +
                        R"(,"items":{"anyOf":)" + alternatives + R"(}}},"required":["tool_calls"]})";
      job.json_schema_fallback =
          R"({"type":"object","properties":{"tool_calls":{"type":"array","maxItems":)" + cap +
          R"(,"items":{"type":"object","properties":{"name":{"enum":)" + names +
          R"(},"arguments":{"type":"object"}},"required":["name","arguments"]}}},"required":["tool_calls"]})";
    }
  }
  return Status::Ok();
}

// The constrained tool answer as an OpenAI tool_calls array; false when it holds none.
bool WriteToolCalls(JsonWriter& w, const std::string& text, const std::string& id_prefix, bool streamed) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array calls;
  if (parser.parse(text).get(doc) || doc["tool_calls"].get(calls) || calls.size() == 0) return false;
  w.begin_array();
  int64_t i = 0;
  for (simdjson::dom::element c : calls) {
    std::string_view name;
    simdjson::dom::element args;
    if (c["name"].get(name)) name = "";
    std::string arguments = c["arguments"].get(args) ? "{}" : simdjson::minify(args);
    w.begin_object();
    if (streamed) w.kv("index", i);
    w.kv("id", id_prefix + "_" + std::to_string(i)).kv("type", "function").key("function").begin_object();
    w.kv("name", name).kv("arguments", arguments).end_object().end_object();
    ++i;
  }
  w.end_array();
  return true;
}

std::string NewId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[32];
  std::snprintf(buf, sizeof buf, "chatcmpl-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

void WriteLogprobs(JsonWriter& w, const engine::Tokenizer& tok, const std::vector<engine::GeneratedToken>& tokens) {
  auto entry = [&](int32_t id, float lp) {
    // A token may be part of a UTF-8 character: "token" is valid text (the JSON writer replaces what is not, by
    // core/utf8.h's rule), "bytes" the exact bytes.
    const std::string piece = tok.Piece(id, true);
    w.kv("token", piece);
    w.kv("logprob", static_cast<double>(lp));
    w.key("bytes").begin_array();
    for (unsigned char c : piece) w.value(static_cast<int64_t>(c));
    w.end_array();
  };
  w.key("logprobs").begin_object().key("content").begin_array();
  for (const auto& t : tokens) {
    w.begin_object();
    entry(t.id, t.logprob);
    w.key("top_logprobs").begin_array();
    for (const auto& alt : t.top) {
      w.begin_object();
      entry(alt.id, alt.logprob);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

// Connects a queued job to the requester's event loop: the engine thread's wake-ups cancel `timer` (so a wait on
// it returns), a client hang-up marks the job cancelled; the hang-up hook is removed when this goes.
struct JobWaiter {
  JobWaiter(const asio::any_io_executor& ex, const std::shared_ptr<Job>& job, CancelState& cancel)
      : timer(std::make_shared<asio::steady_timer>(ex)), cancel_(cancel) {
    job->wake = [ex, weak = std::weak_ptr<asio::steady_timer>(timer)] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
    cancel.set_hook([job, t = timer] {
      job->cancelled = true;
      t->cancel();
    });
  }
  ~JobWaiter() { cancel_.set_hook(nullptr); }
  JobWaiter(const JobWaiter&) = delete;
  JobWaiter& operator=(const JobWaiter&) = delete;
  std::shared_ptr<asio::steady_timer> timer;

 private:
  CancelState& cancel_;
};

// The turns and options of a request: the same for chat() and Encode(), so both render the same prompt.
Status BuildJob(const ChatRequest& req, const ModelInfo& info, Job& job) {
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const ChatMessage& m = req.messages[i];
    if (m.has_media)  // answering without the image would be answering another question
      return Status(Code::kInvalidArgument, "messages[" + std::to_string(i) + "]: local model " + info.name +
                                                " reads text only, not image, audio or file parts");
    job.turns.push_back({m.role == "developer" ? "system" : m.role, m.text});
  }
  return ReadOptions(req, info, job);
}

}  // namespace

// A full engine: every slot generating and the queue full. 503 (the gateway adds Retry-After); a chain with
// another model fails over to it.
Status Busy(const LocalEngine& engine, const ModelInfo& info) {
  return Status(Code::kUnavailable, "local model " + info.name + " is busy: all " + std::to_string(engine.slots()) +
                                        " slots are generating and " + std::to_string(engine.queue_limit()) +
                                        " requests wait; retry shortly");
}

std::string LocalProvider::encoder_id() const { return engine::EncoderId(engine_->model()); }

// Queues a job that produces no text (Encode, ScoreChoices) and waits for it, within the first-token timeout.
asio::awaitable<Status> RunQuietJob(LocalEngine& engine, const ModelInfo& info, std::shared_ptr<Job> job,
                                    CancelState& cancel, const char* what) {
  JobWaiter waiter(co_await asio::this_coro::executor, job, cancel);
  const auto& timer = waiter.timer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(info.timeouts.first_token_ms);
  if (!engine.Submit(job)) co_return Busy(engine, info);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(job->mu);
      if (job->done) break;
    }
    if (cancel.cancelled()) {
      job->cancelled = true;
      co_return Status(Code::kCancelled, "client went away");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      job->cancelled = true;
      co_return Status(Code::kDeadlineExceeded, "local model " + info.name + " timed out " + what);
    }
    timer->expires_at(deadline);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::lock_guard<std::mutex> lock(job->mu);
  if (!job->status.ok()) co_return Status(job->status.code(), "local model " + info.name + ": " + job->status.message());
  co_return Status::Ok();
}

asio::awaitable<Result<std::vector<float>>> LocalProvider::Encode(const ChatRequest& req, CancelState& cancel,
                                                                  int64_t* prompt_tokens) {
  auto job = std::make_shared<Job>();
  if (Status s = BuildJob(req, info_, *job); !s.ok()) co_return s;
  job->encode = true;
  Status done = co_await RunQuietJob(*engine_, info_, job, cancel, "encoding the prompt");
  if (!done.ok()) co_return done;
  if (prompt_tokens) *prompt_tokens = job->result.prompt_tokens;
  co_return std::move(job->pooled);
}

asio::awaitable<Result<ChoiceScores>> LocalProvider::ScoreChoices(const std::vector<ChatMessage>& turns,
                                                                  const std::vector<std::string>& choices,
                                                                  CancelState& cancel) {
  auto job = std::make_shared<Job>();
  if (choices.empty()) co_return Status(Code::kInvalidArgument, "no choices to score");
  for (const auto& t : turns) job->turns.push_back({t.role, t.text});
  job->choices = choices;
  Status done = co_await RunQuietJob(*engine_, info_, job, cancel, "scoring choices");
  if (!done.ok()) co_return done;
  ChoiceScores out;
  out.logprob = job->scores.logprob;
  out.prompt_tokens = job->scores.prompt_tokens;
  out.cached_tokens = job->scores.cached_tokens;
  out.extra_tokens = job->scores.extra_tokens;
  co_return out;
}

Result<std::unique_ptr<Provider>> LocalProvider::Create(const ModelInfo& info) {
  auto e = LocalEngine::Get(info);
  if (!e.ok()) return e.status();
  return std::unique_ptr<Provider>(new LocalProvider(info, *e));
}

asio::awaitable<Status> LocalProvider::chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                                            CallStats& stats) {
  auto job = std::make_shared<Job>();
  if (Status s = BuildJob(req, info_, *job); !s.ok()) co_return s;

  JobWaiter waiter(co_await asio::this_coro::executor, job, cancel);
  const auto& timer = waiter.timer;

  const auto start = std::chrono::steady_clock::now();
  const auto first_deadline = start + std::chrono::milliseconds(info_.timeouts.first_token_ms);
  const auto total_deadline = start + std::chrono::milliseconds(info_.timeouts.total_ms);
  if (!engine_->Submit(job)) co_return Busy(*engine_, info_);

  const std::string id = NewId();
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const engine::Tokenizer& tok = engine_->model().tokenizer();
  auto chunk_head = [&](JsonWriter& w) {
    w.begin_object().kv("id", id).kv("object", "chat.completion.chunk").kv("created", created).kv("model", info_.name);
  };
  bool any = false, sent_role = false;
  std::string text;
  while (true) {
    std::deque<Job::Piece> pieces;
    bool done;
    {
      std::lock_guard<std::mutex> lock(job->mu);
      pieces.swap(job->pieces);
      done = job->done;
    }
    for (auto& p : pieces) {
      any = true;
      if (!req.stream || job->tool_mode) {  // tool calls go out whole, once the answer is complete
        text += p.text;
        continue;
      }
      std::string out;
      JsonWriter w(out);
      chunk_head(w);
      w.key("choices").begin_array().begin_object().kv("index", 0).key("delta").begin_object();
      if (!sent_role) w.kv("role", "assistant");
      sent_role = true;
      w.kv("content", p.text).end_object();
      if (job->opts.logprobs || job->opts.top_logprobs > 0) WriteLogprobs(w, tok, p.tokens);
      w.key("finish_reason").null().end_object().end_array().end_object();
      if (Status s = co_await sink.chunk(out); !s.ok()) {
        job->cancelled = true;
        co_return s;
      }
    }
    if (done) break;
    if (cancel.cancelled()) {
      job->cancelled = true;
      co_return Status(Code::kCancelled, "client went away");
    }
    const auto deadline = any ? total_deadline : std::min(first_deadline, total_deadline);
    if (std::chrono::steady_clock::now() >= deadline) {
      job->cancelled = true;
      co_return Status(Code::kDeadlineExceeded, "local model " + info_.name + " timed out after " +
                                                    std::to_string(any ? info_.timeouts.total_ms : info_.timeouts.first_token_ms) +
                                                    " ms" + (any ? "" : " waiting for its first token"));
    }
    {
      // Pieces that came while the chunks above were written woke a timer nobody waited on: take them now. From
      // here to the wait below this loop does not yield, so a later wake-up finds the wait and ends it.
      std::lock_guard<std::mutex> lock(job->mu);
      if (!job->pieces.empty() || job->done) continue;
    }
    timer->expires_at(deadline);
    boost::system::error_code ec;
    const auto wait_start = std::chrono::steady_clock::now();
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // Time waiting on the engine is model time, as waiting on an HTTP upstream's bytes is: not gateway overhead.
    stats.upstream_wait_us +=
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - wait_start).count();
  }
  Status status;
  {
    std::lock_guard<std::mutex> lock(job->mu);
    status = job->status;
  }
  if (!status.ok()) {
    if (status.code() == Code::kInvalidArgument)  // e.g. the prompt does not fit the context
      status = Status(Code::kInvalidArgument, "local model " + info_.name + ": " + status.message());
    co_return status;
  }
  if (job->tool_mode) {
    std::lock_guard<std::mutex> lock(job->mu);
    if (job->tool_cut != std::string::npos) text = text.substr(0, job->tool_cut) + "]}";  // the calls before the repeat
  }
  const engine::GenerateResult& r = job->result;
  stats.usage.prompt_tokens = r.prompt_tokens;
  stats.usage.completion_tokens = static_cast<int64_t>(r.tokens.size());
  stats.usage.estimated = false;
  std::string finish = r.finish_reason == "length" ? "length" : "stop";
  std::string calls;  // the tool_calls array of the message or delta, when the model called tools
  if (job->tool_mode) {
    JsonWriter cw(calls);
    if (WriteToolCalls(cw, text, "call_" + id.substr(9), req.stream)) {
      finish = "tool_calls";
      text.clear();
    } else {
      calls.clear();
      text.clear();  // {"tool_calls": []}: no tool fits, and nothing else was said
    }
  }
  auto write_usage = [&](JsonWriter& w) {
    w.key("usage").begin_object().kv("prompt_tokens", r.prompt_tokens).kv("completion_tokens", static_cast<int64_t>(r.tokens.size()))
        .kv("total_tokens", static_cast<int64_t>(r.prompt_tokens + r.tokens.size()))
        .key("prompt_tokens_details").begin_object().kv("cached_tokens", r.cached_tokens).end_object()
        .end_object();
  };
  if (!req.stream) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().kv("id", id).kv("object", "chat.completion").kv("created", created).kv("model", info_.name);
    w.key("choices").begin_array().begin_object().kv("index", 0);
    w.key("message").begin_object().kv("role", "assistant");
    if (calls.empty()) {
      w.kv("content", text);
    } else {
      w.key("content").null().key("tool_calls").raw(calls);
    }
    w.end_object();
    if (job->opts.logprobs || job->opts.top_logprobs > 0) WriteLogprobs(w, tok, r.token_info);
    else w.key("logprobs").null();
    w.kv("finish_reason", finish).end_object().end_array();
    write_usage(w);
    w.end_object();
    co_return co_await sink.body(std::move(out));
  }
  {
    std::string out;
    JsonWriter w(out);
    chunk_head(w);
    w.key("choices").begin_array().begin_object().kv("index", 0).key("delta").begin_object();
    if (!sent_role) w.kv("role", "assistant").kv("content", "");
    if (!calls.empty()) w.key("tool_calls").raw(calls);
    w.end_object().kv("finish_reason", finish).end_object().end_array().end_object();
    if (Status s = co_await sink.chunk(out); !s.ok()) co_return s;
  }
  if (req.include_usage) {
    std::string out;
    JsonWriter w(out);
    chunk_head(w);
    w.key("choices").begin_array().end_array();
    write_usage(w);
    w.end_object();
    if (Status s = co_await sink.chunk(out); !s.ok()) co_return s;
  }
  co_return Status::Ok();
}

}  // namespace tandem
