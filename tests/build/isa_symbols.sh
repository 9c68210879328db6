#!/usr/bin/env bash
# The ISA-specific kernel objects (vec_dot_avx2.cpp, vec_dot_avx512.cpp, built with -mavx2 / -mavx512*) define
# no symbol another file could link to by accident: only their table accessors. A weak definition there (an
# inline function or template member emitted out of line) could be chosen by the linker for the whole program
# and run AVX-512 code on a CPU without it. Usage: isa_symbols.sh <object files of tandem_engine...>
set -euo pipefail
status=0
for obj in "$@"; do
  case "$obj" in
    *vec_dot_avx2.cpp.o | *vec_dot_avx512.cpp.o) ;;
    *) continue ;;
  esac
  # Global (T) and weak (W, V) definitions, demangled; the accessors are the only ones allowed.
  bad=$(nm -C --defined-only "$obj" | awk '$2 ~ /^[TWVu]$/' | grep -v -E 'tandem::engine::detail::Avx(2Table|512Panel[A-Za-z0-9_]+)\(\)$| DW\.ref\.__gxx_personality_v0$' || true)
  if [[ -n "$bad" ]]; then
    echo "$obj exports more than its accessors:" >&2
    echo "$bad" >&2
    status=1
  fi
  echo "checked $(basename "$obj")"
done
exit $status
