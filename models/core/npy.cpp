#include "models/core/npy.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/core/output.h"

namespace lbsim {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw UserError(fmt::format("{}: error: {}", path, msg));
}

struct DtypeInfo {
  char kind;  // f, i, u
  int size;
};

bool parse_descr(const std::string& descr, DtypeInfo& out) {
  if (descr.size() != 3) return false;
  char order = descr[0];
  char kind = descr[1];
  int size = descr[2] - '0';
  if (order == '>') return false;
  if (order != '<' && order != '|' && order != '=') return false;
  if (kind == 'f' && (size == 2 || size == 4 || size == 8)) {
  } else if ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) {
  } else {
    return false;
  }
  if (order == '|' && size != 1) return false;
  out = {kind, size};
  return true;
}

// Finds the value text after 'key': in a Python dict literal header.
bool header_value(const std::string& h, const std::string& key, std::string& out) {
  std::string pat = "'" + key + "'";
  size_t p = h.find(pat);
  if (p == std::string::npos) return false;
  p = h.find(':', p + pat.size());
  if (p == std::string::npos) return false;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) return false;
  size_t end;
  if (h[p] == '\'') {
    end = h.find('\'', p + 1);
    if (end == std::string::npos) return false;
    out = h.substr(p + 1, end - p - 1);
  } else if (h[p] == '(') {
    end = h.find(')', p);
    if (end == std::string::npos) return false;
    out = h.substr(p, end - p + 1);
  } else {
    end = h.find_first_of(",}", p);
    if (end == std::string::npos) return false;
    out = h.substr(p, end - p);
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return true;
}

bool parse_shape(const std::string& s, Shape& shape) {
  // "(2, 3)", "(5,)", "()"
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return false;
  std::string body = s.substr(1, s.size() - 2);
  size_t p = 0;
  while (p < body.size()) {
    while (p < body.size() && (body[p] == ' ' || body[p] == ',')) ++p;
    if (p >= body.size()) break;
    size_t q = p;
    while (q < body.size() && body[q] >= '0' && body[q] <= '9') ++q;
    if (q == p || q - p > 15) return false;
    shape.push_back(std::stoll(body.substr(p, q - p)));
    p = q;
    while (p < body.size() && body[p] == ' ') ++p;
    if (p < body.size() && body[p] != ',') return false;
  }
  return true;
}

template <class T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86-64 and every supported host are little-endian
  return v;
}

std::string npy_bytes(const std::string& descr, const Shape& shape, const void* data,
                      size_t bytes_count) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   descr, shape_str(shape));
  size_t total = 10 + header.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  header.append(pad, ' ');
  header.push_back('\n');
  std::string bytes("\x93NUMPY\x01\x00", 8);
  const uint16_t hl = static_cast<uint16_t>(header.size());
  bytes.append(reinterpret_cast<const char*>(&hl), 2);  // little-endian hosts only (see load_le)
  bytes += header;
  bytes.append(static_cast<const char*>(data), bytes_count);
  return bytes;
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf, NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal: man x 2^-24, normalised for float (exact: 10 bits fit in 23).
    int e = -1;
    uint32_t m = man;
    while ((m & 0x400u) == 0) {
      m <<= 1;
      ++e;
    }
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

NpyArray read_npy(const std::string& path, const NpyReadOptions& options) {
  return parse_npy(read_input_file(path), path, options);
}

NpyArray parse_npy(const std::string& bytes, const std::string& path,
                   const NpyReadOptions& options) {
  const std::vector<unsigned char> buf(bytes.begin(), bytes.end());
  if (buf.size() < 10 || std::memcmp(buf.data(), "\x93NUMPY", 6) != 0)
    fail(path, "not a .npy file (bad magic; expected \\x93NUMPY)");
  int major = buf[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = load_le<uint16_t>(&buf[8]);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (buf.size() < 12) fail(path, "truncated header");
    hlen = load_le<uint32_t>(&buf[8]);
    hstart = 12;
  } else {
    fail(path, fmt::format("unsupported .npy format version {}.{}; supported: 1.0, 2.0, 3.0", major,
                           buf[7]));
  }
  if (buf.size() < hstart + hlen) fail(path, "truncated header");
  std::string header(buf.begin() + static_cast<long>(hstart),
                     buf.begin() + static_cast<long>(hstart + hlen));
  std::string descr, fortran, shape_txt;
  if (!header_value(header, "descr", descr) || !header_value(header, "fortran_order", fortran) ||
      !header_value(header, "shape", shape_txt))
    fail(path, "malformed header (needs 'descr', 'fortran_order' and 'shape'): " + header);
  DtypeInfo dt{};
  if (!parse_descr(descr, dt))
    fail(path, fmt::format("unsupported dtype '{}'; supported: float16, float32, float64, "
                           "int8/16/32/64, uint8/16/32/64 (little-endian; bfloat16 as uint16 or "
                           "int16 bits with --npy-bf16)",
                           descr));
  if (fortran == "True")
    fail(path, "Fortran-order arrays are not supported; save with C order (np.ascontiguousarray)");
  if (fortran != "False") fail(path, "malformed header: fortran_order is '" + fortran + "'");
  NpyArray out;
  if (!parse_shape(shape_txt, out.shape)) fail(path, "malformed shape " + shape_txt);
  int64_t n = 1;
  for (int64_t d : out.shape) {
    if (d > (int64_t(1) << 40) / (n ? n : 1)) fail(path, "shape too large: " + shape_txt);
    n *= d;
  }
  size_t need = static_cast<size_t>(n) * static_cast<size_t>(dt.size);
  size_t data_start = hstart + hlen;
  if (buf.size() - data_start < need)
    fail(path, fmt::format("truncated data: shape {} of {} needs {} bytes, file has {}", shape_txt,
                           descr, need, buf.size() - data_start));
  if (buf.size() - data_start > need)
    fail(path, fmt::format("{} trailing bytes after the data of shape {}",
                           buf.size() - data_start - need, shape_txt));
  const bool bf16 = options.bf16 && dt.kind != 'f' && dt.size == 2;
  out.dtype = bf16 ? "bf16" : std::string(1, dt.kind) + std::to_string(dt.size);
  out.values.resize(static_cast<size_t>(n));
  const unsigned char* p = buf.data() + data_start;
  for (int64_t i = 0; i < n; ++i, p += dt.size) {
    double v = 0;
    if (bf16) {
      v = static_cast<double>(bf16_to_float(load_le<uint16_t>(p)));
    } else if (dt.kind == 'f') {
      v = dt.size == 2   ? static_cast<double>(half_to_float(load_le<uint16_t>(p)))
          : dt.size == 4 ? static_cast<double>(load_le<float>(p))
                         : load_le<double>(p);
    } else if (dt.kind == 'i') {
      int64_t x = dt.size == 1   ? load_le<int8_t>(p)
                  : dt.size == 2 ? load_le<int16_t>(p)
                  : dt.size == 4 ? load_le<int32_t>(p)
                                 : load_le<int64_t>(p);
      if (x > (int64_t(1) << 53) || x < -(int64_t(1) << 53))
        fail(path, fmt::format("element {} = {} is not exactly representable as a double", i, x));
      v = static_cast<double>(x);
    } else {
      uint64_t x = dt.size == 1   ? load_le<uint8_t>(p)
                   : dt.size == 2 ? load_le<uint16_t>(p)
                   : dt.size == 4 ? load_le<uint32_t>(p)
                                  : load_le<uint64_t>(p);
      if (x > (uint64_t(1) << 53))
        fail(path, fmt::format("element {} = {} is not exactly representable as a double", i, x));
      v = static_cast<double>(x);
    }
    out.values[static_cast<size_t>(i)] = v;
  }
  return out;
}

std::string npy_f4_bytes(const Shape& shape, const std::vector<float>& data) {
  return npy_bytes("<f4", shape, data.data(), data.size() * sizeof(float));
}

std::string npy_f8_bytes(const Shape& shape, const std::vector<double>& data) {
  return npy_bytes("<f8", shape, data.data(), data.size() * sizeof(double));
}

std::string npy_codes_bytes(const Shape& shape, const std::vector<uint32_t>& codes, int bits) {
  if (bits <= 8) {
    std::vector<uint8_t> v(codes.begin(), codes.end());
    return npy_bytes("|u1", shape, v.data(), v.size());
  }
  if (bits <= 16) {
    std::vector<uint16_t> v(codes.begin(), codes.end());
    return npy_bytes("<u2", shape, v.data(), v.size() * 2);
  }
  return npy_bytes("<u4", shape, codes.data(), codes.size() * 4);
}

void write_npy_f4(const std::string& path, const Shape& shape, const std::vector<float>& data) {
  write_output_file(path, npy_f4_bytes(shape, data));
}

void write_npy_f8(const std::string& path, const Shape& shape, const std::vector<double>& data) {
  write_output_file(path, npy_f8_bytes(shape, data));
}

void write_npy_codes(const std::string& path, const Shape& shape,
                     const std::vector<uint32_t>& codes, int bits) {
  write_output_file(path, npy_codes_bytes(shape, codes, bits));
}

}  // namespace lbsim
