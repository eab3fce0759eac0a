// User-facing errors: anything the user can fix (bad YAML, bad .npy, bad flags, bad format spec).
// Contract: the CLI catches UserError, prints what() to stderr and exits with code 2, having
// written no output file. Internal invariants use assert/std::logic_error instead.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lbsim {

// Where a value came from: a file position (1-based line/column), or a pseudo-file such as
// "<cmdline --format>" when the value was typed on the command line (line 0 = no position).
struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
  std::string str() const;  // "file:line:col", "file:line" or "file"
};

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& msg) : std::runtime_error(msg) {}
};

// Collects every error of one validation pass, so that all of them are reported at once, sorted
// by position (file, line, column; entries without a position keep their order at the end).
class Diagnostics {
 public:
  // text() shows at most this many messages (the first by position), then one line counting
  // the rest: a small file can be wrong in thousands of places, and the first ones are what to
  // fix first.
  static constexpr size_t kMaxShown = 50;
  void error(const SourceLoc& loc, const std::string& key, const std::string& msg);
  // An already formatted message (e.g. a nested UserError's text) sorted as if at loc.
  void add_formatted(const SourceLoc& loc, const std::string& text);
  bool empty() const { return m_entries.empty(); }
  size_t count() const { return m_entries.size(); }
  std::string text() const;   // one message per line, sorted by position
  void throw_if_any() const;  // throws UserError(text()) when there is at least one error
 private:
  struct Entry {
    SourceLoc loc;
    std::string text;
  };
  std::vector<Entry> m_entries;
};

// The first place each name of a list was used, for "duplicate name (first at ...)" errors: one
// error per repeated use, whatever the number of copies before it.
class FirstUse {
 public:
  // nullptr when `name` is new (and remembered at `loc`); otherwise where it was first used.
  const SourceLoc* claim(const std::string& name, const SourceLoc& loc) {
    auto [it, fresh] = m_first.emplace(name, loc);
    return fresh ? nullptr : &it->second;
  }

 private:
  std::map<std::string, SourceLoc> m_first;
};

// Closest candidate by edit distance, or "" when nothing is close enough to suggest.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);
// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace lbsim
