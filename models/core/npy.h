// NumPy .npy files in and out, so that anyone can check lbsim's numbers from Python.
// Reads format versions 1.0-3.0, little-endian or byte-order-free dtypes: f4 f8 i1 i2 i4 i8 u1 u2
// u4 u8, C order only. Every problem (bad magic, truncated data, unsupported dtype, Fortran order,
// malformed header) is a UserError naming the file; nothing is partially returned.
// Writers produce version 1.0 files; *_bytes() return a file's bytes for an OutputSet
// (models/core/output.h, all or nothing), write_npy_*() write one file through it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/numerics/tensor.h"

namespace lbsim {

struct NpyArray {
  Shape shape;
  std::string dtype;  // normalised: "f4", "f8", "i1", ..., "u8"
  std::vector<double>
      values;  // every element converted exactly to double (i8/u8 beyond 2^53: error)
};

NpyArray read_npy(const std::string& path);
// Reads and converts to fp32 (RNE for f8 and large integers), as the quantizers expect.
Tensor read_npy_tensor(const std::string& path);

std::string npy_f4_bytes(const Shape& shape, const std::vector<float>& data);
std::string npy_f8_bytes(const Shape& shape, const std::vector<double>& data);
// Unsigned codes in the narrowest of u1/u2/u4 that holds `bits` bits.
std::string npy_codes_bytes(const Shape& shape, const std::vector<uint32_t>& codes, int bits);

void write_npy_f4(const std::string& path, const Shape& shape, const std::vector<float>& data);
void write_npy_f8(const std::string& path, const Shape& shape, const std::vector<double>& data);
// Unsigned codes in the narrowest of u1/u2/u4 that holds `bits` bits.
void write_npy_codes(const std::string& path, const Shape& shape,
                     const std::vector<uint32_t>& codes, int bits);

}  // namespace lbsim
