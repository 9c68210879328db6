// `tandem chat --model <file.gguf>`: a conversation in the terminal with a local model, in-process. Each line
// read is a user turn; the answer streams as it is generated. "/reset" starts over, "/exit" (or end of input)
// quits. The conversation's KV cache is reused from turn to turn, so only the new turn is processed.
#include <cstdio>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "engine/chat/chat_template.h"
#include "engine/generate/generate.h"
#include "engine/model/model.h"

namespace tandem {

int ChatCommand(const ChatArgs& a) {
  auto model = engine::Model::Load(a.model);
  if (!model.ok()) {
    std::fprintf(stderr, "tandem: %s\n", model.status().message().c_str());
    return 1;
  }
  const auto& m = **model;
  const engine::ChatTemplate tmpl = engine::ChatTemplate::Detect(m.config().chat_template, m.config().arch);
  engine::ThreadPool pool(a.threads);
  engine::Session session(*model, std::min(a.ctx, m.config().n_ctx_train), &pool);
  std::vector<engine::ChatTurn> turns;
  if (!a.system.empty()) turns.push_back({"system", a.system});
  const bool tty = isatty(fileno(stdin));
  if (tty)
    std::fprintf(stderr, "%s (%s, %s template). /reset starts over, /exit quits.\n", m.config().name.c_str(),
                 m.config().arch_name.c_str(), tmpl.name());
  std::string line;
  while (true) {
    if (tty) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      turns.resize(a.system.empty() ? 0 : 1);
      session.Truncate(0);
      continue;
    }
    if (line.empty()) continue;
    turns.push_back({"user", line});
    const std::vector<int32_t> ids = m.tokenizer().Encode(tmpl.Render(turns), true, true);
    engine::GenerateOptions opts;
    opts.max_tokens = a.max_tokens;
    opts.sampling.temperature = a.temperature;
    opts.sampling.seed = a.seed;
    opts.stop = tmpl.stops;
    auto r = engine::Generate(session, ids, opts, [](std::string_view delta, const std::vector<engine::GeneratedToken>&) {
      std::fwrite(delta.data(), 1, delta.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    if (!r.ok()) {
      std::fprintf(stderr, "\ntandem: %s\n", r.status().message().c_str());
      turns.pop_back();
      continue;
    }
    std::printf("\n");
    std::fflush(stdout);
    if (tty)
      std::fprintf(stderr, "[%zu tokens, %.0f ms to first token, %.1f tok/s]\n", r->tokens.size(), r->prefill_ms,
                   r->tokens.size() > 1 ? 1000.0 * static_cast<double>(r->tokens.size() - 1) / r->decode_ms : 0.0);
    turns.push_back({"assistant", r->text});
  }
  return 0;
}

}  // namespace tandem
