#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/npy.h"
#include "models/numerics/tensor.h"

using namespace lbsim;

namespace {

std::string tmp_path(const std::string& name) { return "lbsim_test_npy_" + name + ".npy"; }

// A version-1.0 file with the given header dict text and payload bytes (header padded to 64).
void write_raw(const std::string& path, std::string header, const std::string& payload,
               const std::string& magic = std::string("\x93NUMPY\x01\x00", 8)) {
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  f << magic;
  uint16_t hl = static_cast<uint16_t>(header.size());
  f.write(reinterpret_cast<const char*>(&hl), 2);
  f << header << payload;
}

std::string bytes_of(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

std::string error_of(const std::string& path) {
  try {
    read_npy(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("npy float32 round trip keeps shape and bits", "[npy]") {
  std::string p = tmp_path("rt");
  std::vector<float> v = {1.5f, -0.0f, 3.0e-45f, 65504.0f, -2.25f, 0.1f};
  write_npy_f4(p, {2, 3}, v);
  NpyArray a = read_npy(p);
  CHECK(a.dtype == "f4");
  CHECK(a.shape == Shape{2, 3});
  REQUIRE(a.values.size() == 6);
  for (size_t i = 0; i < v.size(); ++i) CHECK(static_cast<float>(a.values[i]) == v[i]);
  CHECK(std::signbit(a.values[1]));
  std::remove(p.c_str());
}

TEST_CASE("npy reads integer dtypes, 1-d and 0-d shapes", "[npy]") {
  std::string p = tmp_path("int");
  int16_t d[3] = {-3, 0, 32767};
  write_raw(p, "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", bytes_of(d, 6));
  NpyArray a = read_npy(p);
  CHECK(a.shape == Shape{3});
  CHECK(a.values == std::vector<double>{-3, 0, 32767});
  double s = 2.5;
  write_raw(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", bytes_of(&s, 8));
  a = read_npy(p);
  CHECK(a.shape.empty());
  CHECK(a.values == std::vector<double>{2.5});
  std::remove(p.c_str());
}

TEST_CASE("codes are written in the narrowest unsigned dtype", "[npy]") {
  std::string p = tmp_path("codes");
  write_npy_codes(p, {2}, {7, 15}, 4);
  CHECK(read_npy(p).dtype == "u1");
  write_npy_codes(p, {2}, {7, 40000}, 16);
  CHECK(read_npy(p).dtype == "u2");
  write_npy_codes(p, {1}, {0x7FC00000u}, 32);
  NpyArray a = read_npy(p);
  CHECK(a.dtype == "u4");
  CHECK(a.values[0] == double(0x7FC00000u));
  std::remove(p.c_str());
}

TEST_CASE("malformed npy files give one clear error naming the file", "[npy]") {
  std::string p = tmp_path("bad");
  float d[4] = {1, 2, 3, 4};
  SECTION("bad magic") {
    write_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", bytes_of(d, 16),
              std::string("\x93NUMPX\x01\x00", 8));
    CHECK(error_of(p) == p + ": error: not a .npy file (bad magic; expected \\x93NUMPY)");
  }
  SECTION("truncated data") {
    write_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", bytes_of(d, 12));
    CHECK(error_of(p) ==
          p + ": error: truncated data: shape (4,) of <f4 needs 16 bytes, file has 12");
  }
  SECTION("unsupported dtype") {
    write_raw(p, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", bytes_of(d, 16));
    CHECK(error_of(p).find(p + ": error: unsupported dtype '<c8'") == 0);
  }
  SECTION("big-endian") {
    write_raw(p, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", bytes_of(d, 16));
    CHECK(error_of(p).find("unsupported dtype '>f4'") != std::string::npos);
  }
  SECTION("Fortran order") {
    write_raw(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", bytes_of(d, 16));
    CHECK(error_of(p).find("Fortran-order arrays are not supported") != std::string::npos);
  }
  SECTION("missing file") {
    CHECK(error_of("no_such_file.npy") ==
          "no_such_file.npy: error: cannot open file: no such file");
  }
  SECTION("a directory (was an std::ios failure abort)") {
    const std::string dir = std::filesystem::temp_directory_path().string();
    CHECK(error_of(dir) == dir + ": error: cannot open file: is a directory, not a file");
  }
  SECTION("trailing bytes") {
    write_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", bytes_of(d, 16));
    CHECK(error_of(p).find("4 trailing bytes") != std::string::npos);
  }
  std::remove(p.c_str());
}

TEST_CASE("a failed write leaves no output file", "[npy]") {
  std::string p = "no_such_dir_lbsim/out.npy";
  CHECK_THROWS_AS(write_npy_f4(p, {1}, {1.0f}), UserError);
  std::ifstream f(p);
  CHECK(!f.good());
}

TEST_CASE("float16 bit patterns convert exactly: every one of the 65536", "[npy]") {
  // Reference: (-1)^s x man x 2^-24 for subnormals, (-1)^s x (1024 + man) x 2^(exp - 25) else.
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const float f = half_to_float(static_cast<uint16_t>(h));
    if (exp == 0x1f) {
      if (man == 0)
        CHECK(f == static_cast<float>(sign * INFINITY));
      else
        CHECK(std::isnan(f));
      continue;
    }
    const double want =
        exp == 0 ? sign * std::ldexp(static_cast<double>(man), -24)
                 : sign * std::ldexp(static_cast<double>(1024 + man), static_cast<int>(exp) - 25);
    REQUIRE(static_cast<double>(f) == want);
    CHECK(std::signbit(f) == ((h & 0x8000) != 0));  // -0 stays -0
  }
  // bfloat16 is the top half of a float32.
  CHECK(bf16_to_float(0x3f80) == 1.0f);
  CHECK(bf16_to_float(0x4049) == 3.140625f);
  CHECK(bf16_to_float(0x0001) == std::ldexp(1.0f, -133));  // smallest subnormal
  CHECK(std::isinf(bf16_to_float(0xff80)));
}

TEST_CASE("npy reads float16, and 16-bit integers as bfloat16 only when asked", "[npy]") {
  const std::string p = tmp_path("half");
  // 1.0, -2.5, 65504 (max), 2^-24 (smallest subnormal)
  const uint16_t h[4] = {0x3c00, 0xc100, 0x7bff, 0x0001};
  write_raw(p, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }", bytes_of(h, 8));
  NpyArray a = read_npy(p);
  CHECK(a.dtype == "f2");
  CHECK(a.shape == Shape{2, 2});
  CHECK(a.values == std::vector<double>{1.0, -2.5, 65504.0, std::ldexp(1.0, -24)});
  const Tensor t = read_npy_tensor(p, NpyReadOptions{true});  // the flag leaves floats alone
  CHECK(t.data == std::vector<float>{1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24)});

  // bf16 bits 0x3f80 = 1, 0xc020 = -2.5, 0x4049 = 3.140625, 0x0000 = 0 as uint16 and as int16.
  const uint16_t b[4] = {0x3f80, 0xc020, 0x4049, 0x0000};
  for (const char* descr : {"<u2", "<i2"}) {
    write_raw(p, fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': (4,), }}", descr),
              bytes_of(b, 8));
    const NpyArray plain = read_npy(p);
    CHECK(plain.dtype == std::string(descr).substr(1));
    CHECK(plain.values[0] == 16256.0);  // an integer without the flag
    const NpyArray bf = read_npy(p, NpyReadOptions{true});
    CHECK(bf.dtype == "bf16");
    CHECK(bf.values == std::vector<double>{1.0, -2.5, 3.140625, 0.0});
  }
  // Other integer widths are still integers with the flag.
  const uint8_t u[2] = {7, 9};
  write_raw(p, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", bytes_of(u, 2));
  CHECK(read_npy(p, NpyReadOptions{true}).values == std::vector<double>{7.0, 9.0});
  std::remove(p.c_str());
}
