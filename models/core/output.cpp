#include "models/core/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "models/core/cleanup.h"
#include "models/core/error.h"

namespace lbsim {

namespace {
std::filesystem::path temp_of(const std::filesystem::path& p) { return p.string() + kTempSuffix; }

// An output directory as an absolute, normal path without a trailing separator ("out/run/" names
// "out/run").
std::filesystem::path absolute_dir(const std::filesystem::path& dir_in) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(dir_in, ec).lexically_normal();
  if (ec) dir = dir_in;
  if (dir.filename().empty()) dir = dir.parent_path();
  return dir;
}

// Absolute first: weakly_canonical leaves a relative path with no existing prefix as it is.
std::filesystem::path canonical_of(const std::filesystem::path& p) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(p, ec).lexically_normal();
  if (ec) return p.lexically_normal();
  std::filesystem::path c = std::filesystem::weakly_canonical(abs, ec);
  return ec ? abs : c.lexically_normal();
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  if (canonical_of(a) == canonical_of(b)) return true;
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;  // hard links (false when one is missing)
}

// True when `p` lies inside directory `dir` (after canonicalisation).
bool inside(const std::filesystem::path& p, const std::filesystem::path& dir) {
  const std::filesystem::path cp = canonical_of(p), cd = canonical_of(dir);
  auto d = cd.begin(), q = cp.begin();
  for (; d != cd.end(); ++d, ++q)
    if (q == cp.end() || *d != *q) return false;
  return true;
}

std::string label(const NamedPath& n) {
  return n.what.empty() ? "'" + n.path.string() + "'" : n.what;
}
}  // namespace

void check_aliasing(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs,
                    const std::vector<NamedPath>& dirs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].path.empty()) continue;
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (!outputs[j].path.empty() && same_file(outputs[i].path, outputs[j].path))
        throw UserError(
            fmt::format("error: {} and {} name the same file {}; give each output its own path",
                        label(outputs[i]), label(outputs[j]), outputs[j].path.string()));
    for (const NamedPath& in : inputs)
      if (!in.path.empty() && same_file(in.path, outputs[i].path))
        throw UserError(
            fmt::format("error: output {} and input {} name the same file {}; an "
                        "output must not overwrite an input, give it another path",
                        label(outputs[i]), label(in), outputs[i].path.string()));
  }
  for (const NamedPath& d : dirs) {
    if (d.path.empty()) continue;
    for (const NamedPath& in : inputs)
      if (!in.path.empty() && inside(in.path, d.path))
        throw UserError(
            fmt::format("error: output directory {} ({}) holds input {} ({}); it is "
                        "replaced as a whole, give it another path",
                        label(d), d.path.string(), label(in), in.path.string()));
  }
}

void OutputSet::add(const std::filesystem::path& path, std::string contents, std::string what) {
  for (size_t i = 0; i < m_paths.size(); ++i)
    if (m_paths[i] == path) {
      if (!what.empty() && what != m_whats[i])  // two names for one path: a user's collision
        throw UserError(
            fmt::format("error: {} and {} name the same file {}; give each output its own path",
                        m_whats[i], what, path.string()));
      m_files[i] = std::move(contents);
      return;
    }
  m_paths.push_back(path);
  m_whats.push_back(what.empty() ? "'" + path.string() + "'" : std::move(what));
  m_files.push_back(std::move(contents));
}

void OutputSet::add_input(const std::filesystem::path& path, std::string what) {
  m_inputs.push_back({std::move(what), path});
}

void OutputSet::add_directory(const std::filesystem::path& dir,
                              std::vector<std::pair<std::string, std::string>> files) {
  for (auto& d : m_dirs)
    if (d.first == dir) {
      d.second = std::move(files);
      return;
    }
  m_dirs.emplace_back(dir, std::move(files));
}

void OutputSet::check_outputs() const {
  std::vector<NamedPath> outputs, dirs;
  for (size_t i = 0; i < m_paths.size(); ++i) outputs.push_back({m_whats[i], m_paths[i]});
  for (const auto& d : m_dirs) dirs.push_back({"", d.first});
  check_aliasing(m_inputs, outputs, dirs);
}

void OutputSet::commit() {
  check_outputs();
  // Every temporary is registered for removal on interrupt while it exists (models/core/cleanup.h).
  std::vector<std::unique_ptr<cleanup::TempPath>> temps;
  for (const auto& p : m_paths) temps.push_back(std::make_unique<cleanup::TempPath>(temp_of(p)));
  for (const auto& d : m_dirs)
    temps.push_back(std::make_unique<cleanup::TempPath>(temp_of(d.first)));
  std::error_code ec;
  const auto cleanup = [&] {
    for (const auto& p : m_paths) std::filesystem::remove(temp_of(p), ec);
    for (const auto& d : m_dirs) std::filesystem::remove_all(temp_of(d.first), ec);
  };
  for (const auto& [dir, files] : m_dirs) {
    const std::filesystem::path tmp = temp_of(dir);
    std::filesystem::remove_all(tmp, ec);
    if (files.empty()) continue;
    std::filesystem::create_directory(tmp, ec);
    for (const auto& [name, bytes] : files) {
      std::ofstream f(tmp / name, std::ios::binary | std::ios::trunc);
      if (f) f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      f.close();
      if (!f) {
        cleanup();
        throw UserError(fmt::format("{}: error: cannot write", (dir / name).string()));
      }
    }
  }
  for (size_t i = 0; i < m_paths.size(); ++i) {
    std::ofstream f(temp_of(m_paths[i]), std::ios::binary | std::ios::trunc);
    if (f) f.write(m_files[i].data(), static_cast<std::streamsize>(m_files[i].size()));
    f.close();
    if (!f) {
      cleanup();
      throw UserError(fmt::format("{}: error: cannot write", m_paths[i].string()));
    }
  }
  // The renames as one step that an interrupt cannot split: all outputs new, or none.
  const auto renaming = cleanup::critical_section();
  for (const auto& p : m_paths) {
    std::filesystem::rename(temp_of(p), p, ec);
    if (ec) {
      const std::string why = ec.message();
      cleanup();
      throw UserError(fmt::format("{}: error: cannot write: {}", p.string(), why));
    }
  }
  for (const auto& [dir, files] : m_dirs) {
    std::filesystem::remove_all(dir, ec);
    if (files.empty()) continue;
    std::filesystem::rename(temp_of(dir), dir, ec);
    if (ec) {
      const std::string why = ec.message();
      cleanup();
      throw UserError(fmt::format("{}: error: cannot write: {}", dir.string(), why));
    }
  }
}

void OutputSet::check_replaceable_directory(
    const std::filesystem::path& dir_in,
    const std::function<bool(const std::string&)>& replaceable) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = absolute_dir(dir_in);
  const auto shown = [&] { return dir_in.string(); };
  if (fs::exists(fs::symlink_status(dir, ec))) {
    if (!fs::is_directory(dir, ec))
      throw UserError(fmt::format("{}: error: the output directory is not a directory", shown()));
    std::vector<std::string> foreign;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (!replaceable(name)) foreign.push_back(name);
    }
    if (ec)
      throw UserError(
          fmt::format("{}: error: cannot read the output directory: {}", shown(), ec.message()));
    if (!foreign.empty()) {
      std::sort(foreign.begin(), foreign.end());
      throw UserError(fmt::format(
          "{}: error: the output directory holds files lbsim did not write ({}{}); its outputs "
          "replace the directory as a whole, so give a new or empty directory, or one holding "
          "only an earlier run's outputs",
          shown(), foreign.front(),
          foreign.size() > 1 ? fmt::format(" and {} more", foreign.size() - 1) : ""));
    }
  }
}

void OutputSet::commit_directory(const std::filesystem::path& dir_in,
                                 const std::function<bool(const std::string&)>& replaceable) {
  check_outputs();
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = absolute_dir(dir_in);
  const auto shown = [&] { return dir_in.string(); };
  for (const auto& p : m_paths)
    if (fs::absolute(p, ec).lexically_normal().parent_path() != dir)
      throw std::logic_error("OutputSet::commit_directory: " + p.string() + " is not in " +
                             dir.string());
  check_replaceable_directory(dir_in, replaceable);
  const fs::path tmp = dir.string() + kTempSuffix;
  const fs::path old = dir.string() + ".old-lbsim";
  const cleanup::TempPath tmp_temp(tmp), old_temp(old);
  fs::remove_all(tmp, ec);
  fs::remove_all(old, ec);
  if (!dir.parent_path().empty()) ensure_output_dir(dir.parent_path());
  ec.clear();
  if (!fs::create_directory(tmp, ec) || ec)
    throw UserError(fmt::format("{}: error: cannot create {}: {}", shown(), tmp.string(),
                                ec ? ec.message() : "exists"));
  // The same set, retargeted into the temporary directory, committed there as a whole.
  OutputSet inner;
  for (size_t i = 0; i < m_paths.size(); ++i) inner.add(tmp / m_paths[i].filename(), m_files[i]);
  for (const auto& [d, files] : m_dirs) inner.add_directory(tmp / d.filename(), files);
  try {
    inner.commit();
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  bool had = false;
  {
    // DIR is set aside and replaced in one step that an interrupt cannot split.
    const auto renaming = cleanup::critical_section();
    had = fs::exists(fs::symlink_status(dir, ec));
    ec.clear();
    if (had) fs::rename(dir, old, ec);
    if (!ec) fs::rename(tmp, dir, ec);
    if (ec) {
      const std::string why = ec.message();
      fs::remove_all(tmp, ec);
      if (had && !fs::exists(dir)) fs::rename(old, dir, ec);
      throw UserError(fmt::format("{}: error: cannot write: {}", shown(), why));
    }
  }
  if (had) fs::remove_all(old, ec);
}

void write_output_file(const std::filesystem::path& path, std::string contents) {
  OutputSet s;
  s.add(path, std::move(contents));
  s.commit();
}

void ensure_output_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw UserError(fmt::format("{}: error: cannot create the output directory{}", dir.string(),
                                ec ? ": " + ec.message() : std::string()));
}

}  // namespace lbsim
