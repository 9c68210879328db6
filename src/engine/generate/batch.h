// Batch: continuous batching — many sequences generated together on one model. It owns a fixed set of slots
// (a Session each: its own KV cache) sharing one ThreadPool. Step() runs one Session::ForwardMany over every
// active sequence — the next chunk of a prompt still being prefilled, or the last sampled token — so the weights
// are read once per step however many sequences run; then each sequence whose prompt is done samples its next
// token (Generation::Step). Sequences join (Add) and leave (finished, cancelled) between steps, so a long prompt
// is prefilled a chunk per step beside the running decodes instead of stalling them.
//
// What a sequence computes does not depend on what else is in the batch: ForwardMany keeps each sequence's
// arithmetic, and a prompt's chunks are cut by its own length only (ChunkAt), at multiples of four tokens and
// never leaving a tail under kBatchOrderMinRows, so every prompt row takes the kernels one Forward of the prompt
// would (exactly so for prompts up to 512 tokens; longer ones are cut where Forward cuts them, in 512s).
//
// A slot's cache is reused only as far as it changes nothing (generate.h: ReusablePrefix), so a greedy answer does
// not depend on which slot it got or what ran there before either.
//
// Add() puts a sequence in the free slot whose cached tokens share the longest prefix with its prompt (a
// follow-up turn, a common system prompt) — unless that would throw away most of a slot's cache for a few shared
// tokens, when it takes the slot with the least to lose (Pick) — then extends that slot from the PrefixCache, which keeps the whole
// 64-token blocks of every prompt once it is prefilled: a prefix any earlier request ran is not computed again,
// whichever slot ran it and whatever ran there since.
// Thread contract: not thread-safe; one thread (the engine's) calls everything. Callbacks run on that thread.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/generate/generate.h"
#include "engine/generate/prefix_cache.h"
#include "engine/model/model.h"

namespace tandem::engine {

class Batch {
 public:
  // `chunk`: prompt tokens one sequence prefills per step (rounded down to a multiple of 4, at least 8).
  // `prefix_cache_bytes`: the PrefixCache's budget (0: none).
  Batch(std::shared_ptr<const Model> model, int slots, int n_ctx, ThreadPool* pool, int chunk = 64,
        int64_t prefix_cache_bytes = 0);

  int slots() const { return static_cast<int>(slots_.size()); }
  int active() const;
  bool has_free_slot() const { return active() < slots(); }

  // What Add() gives back when the sequence ends: its status (an error of the forward pass, or OK) and result.
  using DoneFn = std::function<void(Status, GenerateResult&)>;
  // Starts a sequence in a free slot (kUnavailable when none is free; a prompt that does not fit: its error).
  // `cancelled` is asked before each step: true drops the sequence (finish_reason "cancelled").
  Status Add(const std::vector<int32_t>& prompt, std::unique_ptr<Generation> gen, std::function<bool()> cancelled,
             DoneFn done);
  // One forward over every active sequence, then sampling. Does nothing when none is active.
  void Step();

  // A free slot's session, for work that runs alone between steps (embedding, scoring): the one whose cached
  // tokens share the longest prefix with `prompt`. Null when every slot is busy.
  // Its cache is extended from the PrefixCache as Add() would.
  Session* FreeSession(const std::vector<int32_t>& prompt);
  // Keeps the whole blocks of the first `n` tokens in `session`'s cache in the PrefixCache (after FreeSession).
  void Remember(const Session& session, int n) { prefixes_.Keep(session, n); }
  const PrefixCache& prefixes() const { return prefixes_; }

 private:
  struct Seq {
    std::unique_ptr<Session> session;
    std::unique_ptr<Generation> gen;  // null: the slot is free
    std::vector<int32_t> todo;        // prompt tokens still to run
    int done = 0;                     // of todo
    int32_t next = 0;                 // the sampled token to run (once the prompt is done)
    std::function<bool()> cancelled;
    DoneFn on_done;
    uint64_t started = 0;  // when its last sequence began (Add's count), for least-recently-used picks
  };
  int Pick(const std::vector<int32_t>& prompt) const;
  void End(Seq& q, Status s);

  std::vector<Seq> slots_;
  int chunk_;
  uint64_t starts_ = 0;
  PrefixCache prefixes_;
};

}  // namespace tandem::engine
