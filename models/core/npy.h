// NumPy .npy files in and out, so that anyone can check lbsim's numbers from Python.
// Reads format versions 1.0-3.0, little-endian or byte-order-free dtypes: f2 f4 f8 i1 i2 i4 i8 u1
// u2 u4 u8, C order only. float16 (f2, what `tensor.half().numpy()` writes) converts exactly.
// bfloat16 has no NumPy dtype: PyTorch users save its bits as 16-bit integers
// (`t.bfloat16().view(torch.int16).numpy()` or `.view(torch.uint16)`); with NpyReadOptions::bf16
// (the CLI's --npy-bf16) a u2 or i2 array is read as bfloat16 bit patterns, converted exactly
// (dtype "bf16"); other dtypes are read as usual. Every problem (bad magic, truncated data,
// unsupported dtype, Fortran order, malformed header) is a UserError naming the file; nothing is
// partially returned. Writers produce version 1.0 files; *_bytes() return a file's bytes for an
// OutputSet (models/core/output.h, all or nothing), write_npy_*() write one file through it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/shape.h"

namespace lbsim {

struct NpyArray {
  Shape shape;
  std::string dtype;  // normalised: "f2", "f4", "f8", "i1", ..., "u8"; "bf16" (see bf16 below)
  std::vector<double>
      values;  // every element converted exactly to double (i8/u8 beyond 2^53: error)
};

struct NpyReadOptions {
  bool bf16 = false;  // read u2 / i2 arrays as bfloat16 bit patterns
};

NpyArray read_npy(const std::string& path, const NpyReadOptions& options = {});
// The same from a file's bytes; `path` names the file in messages.
NpyArray parse_npy(const std::string& bytes, const std::string& path,
                   const NpyReadOptions& options = {});
// (read_npy_tensor, the fp32 view the quantizers take, is in models/numerics/tensor.h: core does
// not depend on numerics.)

// The exact float value of an IEEE binary16 / a bfloat16 bit pattern (NaN and infinities kept).
float half_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);

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
