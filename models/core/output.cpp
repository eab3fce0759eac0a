#include "models/core/output.h"

#include <fmt/format.h>

#include <fstream>
#include <system_error>

#include "models/core/error.h"

namespace lbsim {

namespace {
std::filesystem::path temp_of(const std::filesystem::path& p) { return p.string() + kTempSuffix; }
}  // namespace

void OutputSet::add(const std::filesystem::path& path, std::string contents) {
  for (size_t i = 0; i < m_paths.size(); ++i)
    if (m_paths[i] == path) {
      m_files[i] = std::move(contents);
      return;
    }
  m_paths.push_back(path);
  m_files.push_back(std::move(contents));
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

void OutputSet::commit() {
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
