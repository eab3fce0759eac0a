// The one writer of lbsim's output files: all or nothing.
//
// Contract: an OutputSet collects every file a command writes (path + complete contents), and
// commit() first writes each to "<path>.tmp-lbsim" next to it, then renames all of them into
// place. When any write fails, every temporary is removed and a UserError names the file: no
// output of the set is created or changed. (A rename that fails after others succeeded cannot be
// undone; renames inside one directory fail only when the directory is removed under us.)
// Contents are bytes: text or binary (.npy) alike.
//
// Aliasing. Before writing anything, commit() refuses (UserError naming both) two outputs that
// are the same file, an output that is the same file as a declared input (add_input), and an
// output directory that holds a declared input: "the same file" is decided after
// canonicalisation (std::filesystem::weakly_canonical: ".", "..", symbolic links) and, for files
// that exist, by std::filesystem::equivalent (hard links). Commands also call check_aliasing()
// up front, so that a command whose paths collide fails before it computes anything.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lbsim {

// A path a command reads or writes, with what names it to the user (a flag such as "--out", or a
// description such as "run directory file stats.json").
struct NamedPath {
  std::string what;
  std::filesystem::path path;
};

// UserError "error: <what 1> and <what 2> name the same file <path>; ..." when two outputs, or an
// output and an input, are one file, or an output directory (dirs) holds an input. Empty paths
// are ignored.
void check_aliasing(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs,
                    const std::vector<NamedPath>& dirs = {});

class OutputSet {
 public:
  // Adds a file (`what` names it in errors; default: the path); a second add() of the same path
  // replaces the first.
  void add(const std::filesystem::path& path, std::string contents, std::string what = "");
  // Declares a file the command read: commit() refuses to overwrite it (header comment).
  void add_input(const std::filesystem::path& path, std::string what);
  // Adds a directory written as a whole: commit() writes `files` (name -> bytes) into
  // "<dir>.tmp-lbsim/" with the other temporaries, then replaces `dir` by it, so nothing of an
  // earlier dir survives; an empty list removes dir.
  void add_directory(const std::filesystem::path& dir,
                     std::vector<std::pair<std::string, std::string>> files);
  void commit();
  // Commits the set as the whole contents of directory `dir`: every added file and directory must
  // lie directly in `dir`. They are written into a new sibling directory "<dir>.tmp-lbsim", which
  // then takes `dir`'s place (an existing `dir` is renamed to "<dir>.old-lbsim" and removed after
  // the swap), so `dir` holds exactly this set: never a mix with an earlier run's files. An
  // existing `dir` may hold only names for which `replaceable(name)` is true (an earlier run's
  // outputs); any other entry is the user's and is a UserError naming it, with nothing written.
  void commit_directory(const std::filesystem::path& dir,
                        const std::function<bool(const std::string&)>& replaceable);
  // The check commit_directory makes of an existing `dir`, on its own: call it before long work
  // so that a directory that would be refused is refused at once.
  static void check_replaceable_directory(
      const std::filesystem::path& dir, const std::function<bool(const std::string&)>& replaceable);
  bool empty() const { return m_files.empty(); }
  const std::vector<std::filesystem::path>& paths() const { return m_paths; }

 private:
  void check_outputs() const;  // check_aliasing of the declared inputs and the outputs
  std::vector<std::filesystem::path> m_paths;
  std::vector<std::string> m_whats;
  std::vector<std::string> m_files;
  std::vector<NamedPath> m_inputs;
  std::vector<std::pair<std::filesystem::path, std::vector<std::pair<std::string, std::string>>>>
      m_dirs;
};

// One file through a one-file OutputSet.
void write_output_file(const std::filesystem::path& path, std::string contents);

// Creates `dir` (and its parents) when missing; UserError when it cannot be created or is not a
// directory.
void ensure_output_dir(const std::filesystem::path& dir);

// The temporary suffix commit() uses (tests check that none is left behind).
constexpr const char* kTempSuffix = ".tmp-lbsim";

}  // namespace lbsim
