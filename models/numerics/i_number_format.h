// Number formats: the contract every format implementation (numerics/impl/*.cpp) fulfils.
//
// A format turns an fp32 tensor into a QTensor: one element code per element (the bit pattern
// the hardware stores) plus the scales the format keeps (one tensor scale, one scale per group).
// The exact value of element i is
//     value(i) = tensor_scale * group_scale[group_of(i)] * element_value(code[i])
// and is exactly representable in double for every format here.
//
// Element kinds (what a MAC datapath sees, FormatInfo::kind):
//   kFloat  IEEE-style binary float: [sign | exp_bits | man_bits], bias, specials per
//   FloatSpecials. kInt    two's complement integer of code_bits bits; element_value(code) = the
//   integer.
//           A tensor may instead hold unsigned integers (QTensor::unsigned_int, e.g. LUQ's
//           post-ReLU int4 activations in [0, 15]): then the element value is the code itself.
//   kLog    radix-2 log: [sign | (code_bits-1)-bit exponent code c]; c = 0 is zero,
//           otherwise element_value = +-2^(c-1).
//   kMls    MLS tiny float: [sign | f: exp_bits | m: man_bits]. With Emax = 2^exp_bits - 1:
//           f > 0: +-2^(f - Emax) * (1 + m / 2^man_bits)   (f = Emax is the group's top binade)
//           f = 0: +-2^(1 - Emax) * (m / 2^man_bits)       (subnormal/zero, IEEE convention)
// For kInt/kLog/kMls every element value is an integer multiple of 2^unit_log2, so a datapath can
// accumulate exact integers (docs/design.md §4).
//
// Code 0 is +0 for every format, so zero padding is code 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/numerics/tensor.h"

namespace YAML {
class Node;
}

namespace lbsim {

struct SourceLoc;

enum class Role { kWeight, kActivation, kError };
const char* role_name(Role r);          // "weight", "activation", "error"
Role parse_role(const std::string& s);  // throws UserError listing the allowed names

enum class ElementKind { kFloat, kInt, kLog, kMls };
const char* element_kind_name(ElementKind k);  // "float", "int", "log", "mls"

enum class FloatSpecials {
  kIeee,      // all-ones exponent: infinity (mantissa 0) or NaN (fp32, fp16, bf16, fp8_e5m2)
  kFiniteNan  // OCP E4M3: no infinities; only S.1111.111 is NaN, the rest of that binade is finite
};

struct FormatInfo {
  std::string name;  // canonical spec string, e.g. "fp8_e4m3", "int8", "mls_m1e2"
  ElementKind kind = ElementKind::kFloat;
  int code_bits = 32;
  int exp_bits = 0;                               // kFloat, kMls (kLog: code_bits - 1)
  int man_bits = 0;                               // kFloat, kMls
  int bias = 0;                                   // kFloat
  FloatSpecials specials = FloatSpecials::kIeee;  // kFloat
  int unit_log2 = 0;             // kInt/kLog/kMls: every element_value is a multiple of 2^unit_log2
  bool group_scale_pow2 = true;  // every group scale is a power of two (MLS, dfp) or an fp32 value
  // Stored bits of one group scale (DRAM and buffer traffic); 0 = 8 for power-of-two scales (an
  // exponent), 32 otherwise (an fp32 value).
  int group_scale_bits = 0;
  // The MAC family that executes this format (models/mac/i_mac_family.h); "" = the family that
  // takes its element kind. A format whose arithmetic differs from its kind's family names its own
  // (the OCP MX formats: "mx").
  std::string mac_family;
  int scale_bits() const {
    return group_scale_bits > 0 ? group_scale_bits : group_scale_pow2 ? 8 : 32;
  }
};

// Which elements share a group scale: the tensor is cut into blocks of block[d] elements along
// each dimension d (block[d] == shape[d] means the whole dimension). Groups are numbered in C
// order of the block grid. Per-tensor = block == shape; per-channel on axis a = block == shape
// except block[a] = 1; MLS (n,c) groups of an NCHW tensor = {1, 1, H, W}.
struct GroupMap {
  Shape shape;
  Shape block;
  int64_t num_groups() const;
  int64_t group_of(int64_t flat_index) const;
  // group_of(i) of every element in C order, by an odometer over the multi-index (GroupCursor).
  std::vector<int64_t> group_ids() const;
  static GroupMap per_tensor(const Shape& shape);
  static GroupMap per_axis(const Shape& shape, int axis);  // one group per index of axis
};

// group_of(i) for i = 0, 1, 2, ... in C order without storing them or dividing: an odometer over
// the multi-index that also counts the position inside each block.
class GroupCursor {
 public:
  explicit GroupCursor(const GroupMap& m);
  int64_t group() const { return m_group; }  // the group of the current element
  void next() {                              // to the following element
    for (size_t d = m_digits.size(); d-- > 0;) {
      Digit& g = m_digits[d];
      if (++g.idx < g.extent) {
        if (++g.in_block == g.block) {
          g.in_block = 0;
          m_group += g.stride;
        }
        return;
      }
      m_group -= g.span;  // wrap this digit back to block 0, carry into the next one
      g.idx = 0;
      g.in_block = 0;
    }
  }

 private:
  struct Digit {
    int64_t extent, block, stride, span;  // span = stride * (number of blocks - 1)
    int64_t idx = 0, in_block = 0;
  };
  std::vector<Digit> m_digits;
  int64_t m_group = 0;
};

class INumberFormat;

struct QTensor {
  std::shared_ptr<const INumberFormat> format;
  Shape shape;
  std::vector<uint32_t> codes;      // C order, low code_bits bits used
  double tensor_scale = 1.0;        // fp32-representable
  GroupMap groups;                  // element -> group
  std::vector<double> group_scale;  // per group: power of two or fp32-representable
  Role role = Role::kActivation;
  bool unsigned_int = false;  // kInt only: codes are unsigned integers (see kInt above)

  double element(uint32_t code) const;  // element value honouring unsigned_int
  double value(int64_t i) const;        // exact dequantized value of element i
  std::vector<double> values() const;   // all of them
  void values_into(float* out) const;   // all of them rounded to float (codes.size() of them)
};

struct QuantContext {
  Role role = Role::kActivation;
  uint64_t seed = 0;
  uint64_t tensor_id = 0;
  // Axis along which this tensor is reduced in its GEMM (used by formats that group along the
  // reduction axis, e.g. MLS "k<g>" groups of rank-2 operands). -1 = last axis.
  int reduction_axis = -1;
};

class INumberFormat {
 public:
  virtual ~INumberFormat() = default;
  virtual const FormatInfo& info() const = 0;
  // Exact value of one element code, before tensor and group scales. NaN/inf for float specials.
  virtual double element_value(uint32_t code) const = 0;
  // Quantizes an fp32 tensor. Deterministic in (x, ctx); stochastic draws use CounterRng keyed by
  // (ctx.seed, ctx.tensor_id, element index). Throws UserError on input the format cannot take
  // (e.g. non-finite values for a max-scaled format), naming the problem.
  virtual QTensor quantize(const TensorView& x, const QuantContext& ctx) const = 0;
  // The GroupMap quantize() gives a tensor of `shape` quantized for ctx (its role and
  // reduction_axis), without quantizing anything: for cost models that need the group layout of
  // tensors too large to quantize (models/sim_plan). quantize(x, ctx).groups == group_map(x.shape,
  // ctx) for every x. Default: one group (per-tensor scale).
  virtual GroupMap group_map(const Shape& shape, const QuantContext& ctx) const {
    (void)ctx;
    return GroupMap::per_tensor(shape);
  }
  // One-line description of the options actually in effect, for reports.
  virtual std::string describe() const = 0;
};

using FormatPtr = std::shared_ptr<const INumberFormat>;

// Creates a format from a spec string: a registered name or an alias ("fp8_e4m3", "int8", "dfp8",
// "int4_sawb", "luq_fp4", "mls_m1e2", "mls_m4e2"), optionally followed by options:
// "mls_m1e2:rounding=stochastic,group_exp_bits=6". `where` names the origin for messages.
// Throws UserError listing the valid names (with "did you mean") or every bad option, or when the
// spec is longer than kMaxFormatSpecChars.
constexpr size_t kMaxFormatSpecChars = 1024;
FormatPtr make_format(const std::string& spec, const SourceLoc& where);
// Same from a YAML scalar (a spec string) or map ({type: mls, m: 1, e: 2, rounding: nearest});
// errors carry file:line:col of the offending key. key_path is the node's dotted path.
FormatPtr make_format(const YAML::Node& node, const std::string& file, const std::string& key_path);

// For list-types: every registered format with its options, defaults, allowed values, meanings.
std::string describe_format_types();
// Every name make_format accepts without options: registered types and alias examples, sorted.
std::vector<std::string> format_spec_names();

}  // namespace lbsim
