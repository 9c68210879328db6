#include "engine/generate/batch.h"

#include <algorithm>

#include "engine/kernels/vec_dot.h"

namespace tandem::engine {

Batch::Batch(std::shared_ptr<const Model> model, int slots, int n_ctx, ThreadPool* pool, int chunk,
             int64_t prefix_cache_bytes)
    : chunk_(std::max(kBatchOrderMinRows, chunk / 4 * 4)), prefixes_(model->config(), prefix_cache_bytes) {
  slots_.resize(static_cast<size_t>(std::max(1, slots)));
  for (Seq& q : slots_) q.session = std::make_unique<Session>(model, n_ctx, pool);
}

int Batch::active() const {
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const Seq& q) { return q.gen != nullptr; }));
}

int Batch::Pick(const std::vector<int32_t>& prompt) const {
  // A slot whose cache the prompt mostly reuses (at least half of it; an empty slot qualifies): the longest
  // shared prefix, among equals the smallest cache. With none, the slot that loses the least: the smallest cache,
  // among equals the least recently started. A long cache is not thrown away for a few shared tokens.
  int best = -1;
  bool best_reuses = false;
  size_t best_common = 0, best_size = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Seq& q = slots_[i];
    if (q.gen) continue;
    const std::vector<int32_t>& cached = q.session->tokens();
    const size_t common = static_cast<size_t>(CommonPrefix(cached, prompt));
    const bool reuses = 2 * common >= cached.size();
    bool better = best < 0 || (reuses && !best_reuses);
    if (!better && reuses == best_reuses) {
      const Seq& b = slots_[static_cast<size_t>(best)];
      if (reuses)
        better = common > best_common || (common == best_common && cached.size() < best_size);
      else
        better = cached.size() < best_size || (cached.size() == best_size && q.started < b.started);
    }
    if (better) best = static_cast<int>(i), best_reuses = reuses, best_common = common, best_size = cached.size();
  }
  return best;
}

Session* Batch::FreeSession(const std::vector<int32_t>& prompt) {
  const int i = Pick(prompt);
  if (i < 0) return nullptr;
  slots_[static_cast<size_t>(i)].started = ++starts_;
  Session* session = slots_[static_cast<size_t>(i)].session.get();
  prefixes_.Seed(*session, prompt);
  return session;
}

Status Batch::Add(const std::vector<int32_t>& prompt, std::unique_ptr<Generation> gen,
                  std::function<bool()> cancelled, DoneFn done) {
  const int i = Pick(prompt);
  if (i < 0) return Status(Code::kUnavailable, "every slot is busy");
  Seq& q = slots_[static_cast<size_t>(i)];
  q.started = ++starts_;
  prefixes_.Seed(*q.session, prompt);
  auto todo = gen->Begin(*q.session, prompt);
  if (!todo.ok()) return todo.status();
  q.gen = std::move(gen);
  q.todo = std::move(*todo);
  q.done = 0;
  q.cancelled = std::move(cancelled);
  q.on_done = std::move(done);
  return Status::Ok();
}

void Batch::End(Seq& q, Status s) {
  std::unique_ptr<Generation> gen = std::move(q.gen);  // the slot is free from here on
  DoneFn done = std::move(q.on_done);
  q.cancelled = nullptr;
  if (!s.ok()) q.session->Truncate(0);  // a failed pass leaves the cache unknown
  if (done) done(std::move(s), gen->result());
}

void Batch::Step() {
  std::vector<BatchItem> items;
  std::vector<Seq*> who;
  for (Seq& q : slots_) {
    if (!q.gen) continue;
    if (q.cancelled && q.cancelled()) {
      q.gen->result().finish_reason = "cancelled";
      End(q, Status::Ok());
      continue;
    }
    const int n = static_cast<int>(q.todo.size());
    if (q.done < n) {
      const int end = ChunkAt(q.done, n, chunk_);
      items.push_back({q.session.get(), q.todo.data() + q.done, end - q.done});
    } else {
      items.push_back({q.session.get(), &q.next, 1});
    }
    who.push_back(&q);
  }
  if (items.empty()) return;
  Status s = Session::ForwardMany(items.data(), static_cast<int>(items.size()));
  for (size_t k = 0; k < who.size(); ++k) {
    Seq& q = *who[k];
    if (!s.ok()) {
      End(q, s);
      continue;
    }
    const int n = static_cast<int>(q.todo.size());
    if (q.done < n) {
      q.done += items[k].n;
      if (q.done < n) continue;  // more of the prompt to run next step
      q.gen->Prefilled();
      prefixes_.Keep(*q.session, q.session->pos());
    }
    Session& se = *q.session;
    if (!q.gen->Step(se.logits().data(), se.pos(), se.n_ctx(), &q.next)) End(q, Status::Ok());
  }
}

}  // namespace tandem::engine
