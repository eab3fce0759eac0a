#include "models/core/input_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "models/core/error.h"

namespace lbsim {

namespace {

[[noreturn]] void fail(const std::string& path, const char* what, const std::string& reason) {
  throw UserError(fmt::format("{}: error: {}: {}", path, what, reason));
}

std::string errno_text(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

std::string read_input_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    fail(path, "cannot open file", errno == ENOENT ? "no such file" : errno_text(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "cannot open file", "is a directory, not a file");
  if (!S_ISREG(st.st_mode))
    fail(path, "cannot open file", "not a regular file (a device, FIFO or socket)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open file", errno_text(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail(path, "cannot read file", errno_text(err));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace lbsim
