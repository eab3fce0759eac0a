// NumPy .npy files in and out, so that anyone can check lbsim's numbers from Python.
// Reads format versions 1.0-3.0, little-endian or byte-order-free dtypes: f4 f8 i1 i2 i4 i8 u1 u2
// u4 u8, C order only. Every problem (bad magic, truncated data, unsupported dtype, Fortran order,
// malformed header) is a UserError naming the file; nothing is partially returned.
// Writers produce version 1.0 files, written to a temporary name and renamed into place, so a
// failed run leaves no output file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/shape.h"

namespace lbsim {

struct NpyArray {
  Shape shape;
  std::string dtype;  // normalised: "f4", "f8", "i1", ..., "u8"
  std::vector<double>
      values;  // every element converted exactly to double (i8/u8 beyond 2^53: error)
};

NpyArray read_npy(const std::string& path);
// (read_npy_tensor, the fp32 view the quantizers take, is in models/numerics/tensor.h: core does
// not depend on numerics.)

void write_npy_f4(const std::string& path, const Shape& shape, const std::vector<float>& data);
void write_npy_f8(const std::string& path, const Shape& shape, const std::vector<double>& data);
// Unsigned codes in the narrowest of u1/u2/u4 that holds `bits` bits.
void write_npy_codes(const std::string& path, const Shape& shape,
                     const std::vector<uint32_t>& codes, int bits);

}  // namespace lbsim
