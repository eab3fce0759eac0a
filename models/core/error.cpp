#include "models/core/error.h"

#include <fmt/format.h>

#include <algorithm>

namespace lbsim {

std::string SourceLoc::str() const {
  if (line <= 0) return file;
  if (col <= 0) return fmt::format("{}:{}", file, line);
  return fmt::format("{}:{}:{}", file, line, col);
}

void Diagnostics::error(const SourceLoc& loc, const std::string& key, const std::string& msg) {
  std::string where = loc.str();
  std::string line = where.empty() ? "error: " : where + ": error: ";
  if (!key.empty()) line += key + ": ";
  m_entries.push_back({loc, line + msg});
}

void Diagnostics::add_formatted(const SourceLoc& loc, const std::string& text) {
  m_entries.push_back({loc, text});
}

std::string Diagnostics::text() const {
  std::vector<Entry> sorted = m_entries;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
    bool pa = a.loc.line > 0, pb = b.loc.line > 0;
    if (pa != pb) return pa;  // positioned entries first
    if (!pa) return false;
    if (a.loc.file != b.loc.file) return a.loc.file < b.loc.file;
    if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
    return a.loc.col < b.loc.col;
  });
  std::string out;
  const size_t shown = std::min(sorted.size(), kMaxShown);
  for (size_t i = 0; i < shown; ++i) {
    if (i) out += '\n';
    out += sorted[i].text;
  }
  if (shown < sorted.size())
    out += fmt::format("\nerror: {} more error{} not shown", sorted.size() - shown,
                       sorted.size() - shown == 1 ? "" : "s");
  return out;
}

void Diagnostics::throw_if_any() const {
  if (!m_entries.empty()) throw UserError(text());
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    // The distance is at least the difference of the lengths: skip what cannot beat best_d
    // (keeps suggestions cheap for a long mistyped key).
    const size_t gap = word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
    if (gap >= best_d) continue;
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace lbsim
