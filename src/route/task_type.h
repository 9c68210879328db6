// Task type of a prompt: code, math, translation, summary, extraction, chitchat or general, from literal
// keywords and the prompt's structure.
//
// The first KiB and the last 512 bytes decide (the learned router reads the first 512 and last 256). Each keyword (a "needle") counts for its category when it occurs anywhere in that
// window, in any ASCII case; symbol, digit and operator densities add to code and math. Needles are found with
// one pass of probes into a small bit filter, keyed by each needle's rarest three bytes, over the lower-cased
// window, each hit confirmed by comparison: unlike a regex automaton's steps, the probes of neighbouring
// positions do not wait on each other. Thread-safe (pure function; the index is built once).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// The part of a prompt that the task type and the learned router read: all of it up to kWindowHead + kWindowTail
// bytes, else the first kWindowHead and the last kWindowTail joined by a newline (the instruction is at the start
// or the end of a long prompt, and the cost stays bounded).
inline constexpr size_t kWindowHead = 1024, kWindowTail = 512;

// Replaces *out with the prompt's window lower-cased (ASCII), followed by `padding` zero bytes (for kernels that
// read ahead); returns the window's length. The copy and the lower-casing vectorize. `head` and `tail` choose
// another window of the same shape (the learned router reads a shorter one).
size_t LowerWindow(std::string_view prompt, size_t padding, std::string* out, size_t head = kWindowHead,
                   size_t tail = kWindowTail);

// Heuristic task type of a prompt: code, math, translation, summary, extraction, chitchat or general.
std::string ClassifyTask(std::string_view prompt);

// The needles (lower case) and, for each, which of them occur in `text` — for tests, which compare this with a
// plain substring search.
const std::vector<std::string>& TaskNeedles();
std::vector<bool> TaskNeedlesIn(std::string_view text);

}  // namespace tandem
