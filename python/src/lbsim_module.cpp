// _lbsim: the compiled half of the `lbsim` Python package (python/lbsim/__init__.py wraps it).
//
// Contract:
//  * quantize / gemm / conv run the same library calls as `lbsim quantize | gemm | conv`
//    (models/numerics/operands.h: quantize_operand, prepare_gemm, prepare_conv; the functional
//    reference models/reference), so equal inputs give equal bits and a bad spec or shape raises
//    ValueError with the CLI's message text (operands named as the Python arguments: x, w, e).
//  * Inputs: C-order float32 arrays are quantized in place, without any copy (a TensorView on
//    the array's buffer, the array kept alive by the call); anything else is converted to a
//    C-order float32 copy first. Outputs are NumPy arrays that take
//    ownership of the C++ result vectors (no copy).
//  * ptq runs models/ptq/gpfq.h quantize_layer as `lbsim ptq` does (same options, same bits).
//  * The GIL is released while formats quantize, the reference computes and ptq quantizes.
//  * gemm/conv run the reference on the operands in place (run_gemm_reference /
//    run_conv_reference: no lowered operand is built for the fixed-point family), with `threads`
//    threads over tiles of output rows; the result is bit-identical for any thread count.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/operands.h"
#include "models/ptq/gpfq.h"
#include "models/reference/reference_gemm.h"

namespace py = pybind11;

namespace lbsim {
namespace {

using F32Array = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A quantized tensor held by Python (shared with the GemmProblems that use it).
struct PyQTensor {
  std::shared_ptr<const QTensor> q;
};

// The elements of a (kept alive by the caller's F32Array), without a copy.
TensorView view_of(const F32Array& a) {
  return TensorView(Shape(a.shape(), a.shape() + a.ndim()), a.data(),
                    static_cast<size_t>(a.size()));
}

// A NumPy array owning `v` (moved to the heap, freed with the array).
template <class T>
py::array_t<T> owning_array(std::vector<T>&& v, const Shape& shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array_t<T>(dims, heap->data(), owner);
}

FormatPtr format_arg(const std::string& spec, const std::string& arg) {
  return make_format(spec, SourceLoc{"<argument " + arg + ">"});
}

Role role_arg(const std::string& s) { return parse_role(s); }

// Accumulator and the conv dgrad lowering: an arch YAML path, a dict {bits, overflow,
// dgrad_lowering}, or None (the CLI defaults: 32 bits, saturate, im2col).
struct AccArgs {
  AccumulatorSpec acc;
  DgradLowering lowering = DgradLowering::kIm2col;
  const ArchConfig* arch = nullptr;
  ArchConfig arch_storage;
};

void parse_acc(const py::object& acc, AccArgs& out) {
  if (acc.is_none()) return;
  if (py::isinstance<py::str>(acc)) {
    out.arch_storage = load_arch(acc.cast<std::string>());
    out.arch = &out.arch_storage;
    out.acc = out.arch->pe.accumulator;
    out.lowering = out.arch->mapping.dgrad_lowering;
    return;
  }
  if (!py::isinstance<py::dict>(acc))
    throw UserError("error: acc must be an arch YAML path, a dict {bits, overflow} or None");
  for (auto kv : acc.cast<py::dict>()) {
    const std::string key = py::str(kv.first);
    if (key == "bits") {
      const int bits = kv.second.cast<int>();
      if (bits < 2 || bits > 64)
        throw UserError("error: acc bits: " + std::to_string(bits) + " is outside [2, 64]");
      out.acc.acc_bits = bits;
    } else if (key == "overflow") {
      const std::string p = py::str(kv.second);
      if (p != "saturate" && p != "wrap")
        throw UserError("error: acc overflow: '" + p + "'; allowed: saturate, wrap");
      out.acc.policy = p == "wrap" ? OverflowPolicy::kWrap : OverflowPolicy::kSaturate;
    } else if (key == "dgrad_lowering") {
      const std::string l = py::str(kv.second);
      if (l != "im2col" && l != "transposed")
        throw UserError("error: acc dgrad_lowering: '" + l + "'; allowed: im2col, transposed");
      out.lowering = l == "transposed" ? DgradLowering::kTransposed : DgradLowering::kIm2col;
    } else {
      throw UserError("error: acc: unknown key '" + key +
                      "'; allowed: bits, overflow, dgrad_lowering");
    }
  }
}

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// An operand argument: a float array (quantized by the call) or a QTensor (used as it is).
struct OperandArg {
  F32Array array;  // the caller's array itself when C-order float32, else a converted copy
  OperandSource src;
  OperandArg(const std::string& name, const py::object& obj, const py::object& own_format) {
    src.name = name;
    src.what = name;
    if (obj.is_none()) return;
    if (py::isinstance<PyQTensor>(obj)) {
      src.quantized = obj.cast<const PyQTensor&>().q;
      return;
    }
    array = obj.cast<F32Array>();
    src.tensor = view_of(array);
    if (!own_format.is_none()) src.format = format_arg(own_format.cast<std::string>(), name);
  }
  OperandArg(const OperandArg&) = delete;
  OperandArg& operator=(const OperandArg&) = delete;
};

FormatPtr shared_arg(const py::object& format) {
  return format.is_none() ? nullptr : format_arg(format.cast<std::string>(), "format");
}

// With an arch and no format of its own, a tensor operand takes the arch's format of its role.
void arch_default(OperandSource& s, const FormatPtr& shared, const AccArgs& acc, Role role) {
  if (!acc.arch || s.format || shared || !s.tensor) return;
  s.format = role == Role::kWeight       ? acc.arch->pe.weight
             : role == Role::kActivation ? acc.arch->pe.activation
                                         : acc.arch->pe.error;
}

// {out, acc_overflows, m, n, k, k_segments}; out is `out` when given, else C of shape.
py::dict result_dict(LoweredReference&& r, const Shape& shape, Tensor* out = nullptr) {
  py::dict d;
  d["out"] = out ? owning_array(std::move(out->data), out->shape)
                 : owning_array(std::move(r.result.c), shape);
  d["acc_overflows"] = r.result.acc_overflows;
  d["m"] = r.m;
  d["n"] = r.n;
  d["k"] = r.k;
  d["k_segments"] = r.num_segments;
  return d;
}

py::dict quantize(const py::object& x, const std::string& format, const std::string& role,
                  uint64_t seed, uint64_t tensor_id, int reduction_axis, bool float64,
                  bool with_codes) {
  const FormatPtr f = format_arg(format, "format");
  const Role r = role_arg(role);
  const F32Array array = x.cast<F32Array>();
  const TensorView t = view_of(array);
  auto q = std::make_shared<QTensor>();
  std::vector<float> values;
  std::vector<double> values64;
  {
    py::gil_scoped_release release;
    *q = quantize_operand(f, t, r, seed, tensor_id, reduction_axis, "x");
    if (float64) {
      values64 = q->values();
    } else {
      values.resize(q->codes.size());
      q->values_into(values.data());
    }
  }
  py::dict d;
  if (float64)
    d["values"] = owning_array(std::move(values64), q->shape);
  else
    d["values"] = owning_array(std::move(values), q->shape);
  const int bits = f->info().code_bits;
  if (!with_codes) {
    d["codes"] = py::none();
  } else if (bits <= 8) {
    d["codes"] = owning_array(std::vector<uint8_t>(q->codes.begin(), q->codes.end()), q->shape);
  } else if (bits <= 16) {
    d["codes"] = owning_array(std::vector<uint16_t>(q->codes.begin(), q->codes.end()), q->shape);
  } else {
    d["codes"] = owning_array(std::vector<uint32_t>(q->codes), q->shape);
  }
  d["scales_json"] = json_text(scales_json(*q));
  d["qtensor"] = PyQTensor{q};
  return d;
}

py::dict gemm(const py::object& a, const py::object& b, const py::object& format,
              const py::object& format_a, const py::object& format_b, const std::string& role_a,
              const std::string& role_b, uint64_t seed, const py::object& acc, int threads) {
  AccArgs accs;
  parse_acc(acc, accs);
  GemmCall call;
  call.shared = shared_arg(format);
  call.format_flag_a = "format_a";
  call.format_flag_b = "format_b";
  OperandArg oa("a", a, format_a), ob("b", b, format_b);
  call.a = oa.src;
  call.b = ob.src;
  call.role_a = role_arg(role_a);
  call.role_b = role_arg(role_b);
  call.seed = seed;
  arch_default(call.a, call.shared, accs, call.role_a);
  arch_default(call.b, call.shared, accs, call.role_b);
  if (threads <= 0) threads = default_threads();
  LoweredReference r;
  {
    py::gil_scoped_release release;
    const OwnedGemm g = prepare_gemm_operands(call);
    r = run_gemm_reference(*g.a, *g.b, accs.acc, threads);
  }
  const Shape shape{r.m, r.n};
  return result_dict(std::move(r), shape);
}

std::vector<int64_t> pair_arg(const py::object& o) {
  if (o.is_none()) return {};
  return o.cast<std::vector<int64_t>>();
}

py::dict conv(const std::string& phase, const py::object& x, const py::object& w,
              const py::object& e, const py::object& format, const py::object& format_x,
              const py::object& format_w, const py::object& format_e, const py::object& input_hw,
              const py::object& kernel, int64_t stride, int64_t pad, uint64_t seed,
              const py::object& acc, const py::object& dgrad_lowering, int threads) {
  AccArgs accs;
  parse_acc(acc, accs);
  ConvCall call;
  call.phase = parse_conv_phase(phase);
  call.shared = shared_arg(format);
  call.format_flag_x = "format_x";
  call.format_flag_w = "format_w";
  call.format_flag_e = "format_e";
  call.input_hw_name = "input_hw=(H, W)";
  call.kernel_name = "kernel=(R, S)";
  const bool fwd = call.phase == ConvPhase::kFwd, dg = call.phase == ConvPhase::kDgrad;
  const py::object none = py::none();
  OperandArg ox("x", dg ? none : x, format_x), ow("w", fwd || dg ? w : none, format_w),
      oe("e", fwd ? none : e, format_e);
  call.x = ox.src;
  call.w = ow.src;
  call.e = oe.src;
  arch_default(call.x, call.shared, accs, Role::kActivation);
  arch_default(call.w, call.shared, accs, Role::kWeight);
  arch_default(call.e, call.shared, accs, Role::kError);
  call.input_hw = pair_arg(input_hw);
  call.kernel = pair_arg(kernel);
  if (stride < 1) throw UserError("error: stride must be >= 1, got " + std::to_string(stride));
  if (pad < 0) throw UserError("error: pad must be >= 0, got " + std::to_string(pad));
  call.stride = stride;
  call.pad = pad;
  call.seed = seed;
  call.lowering = accs.lowering;
  if (!dgrad_lowering.is_none()) {
    const std::string l = dgrad_lowering.cast<std::string>();
    if (l != "im2col" && l != "transposed")
      throw UserError("error: dgrad_lowering: '" + l + "'; allowed: im2col, transposed");
    call.lowering = l == "transposed" ? DgradLowering::kTransposed : DgradLowering::kIm2col;
  }
  if (threads <= 0) threads = default_threads();
  LoweredReference r;
  Tensor y;
  {
    py::gil_scoped_release release;
    const OwnedConv c = prepare_conv_operands(call);
    r = run_conv_reference(call.phase, *c.gemm.a, *c.gemm.b, c.geo, call.lowering, accs.acc,
                           threads);
    y = conv_output(call.phase, r.result, c.geo, call.lowering, threads);
  }
  return result_dict(std::move(r), y.shape, &y);
}

// The rank-2 transpose of a quantized tensor: codes and group map transposed, group scales
// renumbered in the C order of the transposed group grid. Values are those of the transpose.
PyQTensor transpose(const PyQTensor& in) {
  const QTensor& q = *in.q;
  if (q.shape.size() != 2)
    throw UserError("error: transpose needs a rank-2 QTensor, got shape " + shape_str(q.shape));
  auto t = std::make_shared<QTensor>(q);
  const int64_t r = q.shape[0], c = q.shape[1];
  t->shape = {c, r};
  t->groups.shape = {c, r};
  t->groups.block = {q.groups.block[1], q.groups.block[0]};
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) t->codes[j * r + i] = q.codes[i * c + j];
  const int64_t g0 = (r + q.groups.block[0] - 1) / q.groups.block[0];
  const int64_t g1 = (c + q.groups.block[1] - 1) / q.groups.block[1];
  if (!q.group_scale.empty())
    for (int64_t a = 0; a < g0; ++a)
      for (int64_t b = 0; b < g1; ++b) t->group_scale[b * g0 + a] = q.group_scale[a * g1 + b];
  return PyQTensor{t};
}

py::dict format_info(const std::string& spec) {
  const FormatPtr f = format_arg(spec, "format");
  const FormatInfo& i = f->info();
  py::dict d;
  d["name"] = i.name;
  d["kind"] = element_kind_name(i.kind);
  d["code_bits"] = i.code_bits;
  d["exp_bits"] = i.exp_bits;
  d["man_bits"] = i.man_bits;
  d["describe"] = f->describe();
  return d;
}

py::dict arch_info(const std::string& path) {
  const ArchConfig a = load_arch(path);
  py::dict d;
  d["name"] = a.name;
  d["type"] = a.pe.type;
  py::dict f;
  f["weight"] = a.pe.weight->info().name;
  f["activation"] = a.pe.activation->info().name;
  f["error"] = a.pe.error->info().name;
  d["formats"] = f;
  py::dict acc;
  acc["bits"] = a.pe.accumulator.acc_bits;
  acc["overflow"] = a.pe.accumulator.policy == OverflowPolicy::kWrap ? "wrap" : "saturate";
  acc["dgrad_lowering"] = dgrad_lowering_name(a.mapping.dgrad_lowering);
  d["accumulator"] = acc;
  return d;
}

// An owned copy of a (quantize_layer takes Tensors).
Tensor copy_tensor(const F32Array& a) {
  const TensorView v = view_of(a);
  return Tensor{v.shape, std::vector<float>(v.data.begin(), v.data.end())};
}

// Post-training quantization of one layer (models/ptq/gpfq.h), as `lbsim ptq`.
py::dict ptq(const py::object& w, const py::object& x, const py::object& xq,
             const std::string& method, int bits, double c_alpha, const std::string& form,
             bool stochastic, uint64_t seed, int threads) {
  PtqOptions o;
  o.method = parse_ptq_method(method, "method");
  o.form = parse_gpfq_form(form, "form");
  o.bits = bits;
  o.c_alpha = c_alpha;
  o.stochastic = stochastic;
  o.seed = seed;
  o.threads = threads > 0 ? threads : default_threads();
  const Tensor tw = copy_tensor(w.cast<F32Array>());
  const Tensor tx = copy_tensor(x.cast<F32Array>());
  Tensor txq;
  if (!xq.is_none()) txq = copy_tensor(xq.cast<F32Array>());
  PtqResult r;
  {
    py::gil_scoped_release release;
    r = quantize_layer(tw, tx, xq.is_none() ? nullptr : &txq, o, PtqNames{"w", "x", "xq"});
  }
  py::dict d;
  const Shape shape = r.shape;
  d["q"] = owning_array(std::move(r.q), shape);
  d["levels"] = owning_array(std::move(r.levels), shape);
  d["bias_shift"] = owning_array(std::move(r.bias_shift), Shape{shape[0]});
  d["delta"] = r.delta;
  d["K"] = r.K;
  d["form"] = std::string(to_string(r.form));
  d["err2"] = r.err2;
  d["ref2"] = r.ref2;
  d["saturated"] = r.saturated;
  return d;
}

}  // namespace
}  // namespace lbsim

PYBIND11_MODULE(_lbsim, m) {
  using namespace lbsim;
  m.doc() = "lbsim numerics: formats, quantize, bit-exact GEMM and conv (see lbsim/__init__.py)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UserError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  py::class_<PyQTensor>(m, "QTensor")
      .def_property_readonly("shape", [](const PyQTensor& t) { return t.q->shape; })
      .def_property_readonly("format", [](const PyQTensor& t) { return t.q->format->info().name; })
      .def_property_readonly("role", [](const PyQTensor& t) { return role_name(t.q->role); })
      .def("values",
           [](const PyQTensor& t) {
             std::vector<float> v(t.q->codes.size());
             t.q->values_into(v.data());
             return owning_array(std::move(v), t.q->shape);
           })
      .def("transpose", &transpose);
  m.def("formats", &format_spec_names);
  m.def("format_info", &format_info, py::arg("spec"));
  m.def("arch_info", &arch_info, py::arg("path"));
  m.def("quantize", &quantize, py::arg("x"), py::arg("format"), py::arg("role"), py::arg("seed"),
        py::arg("tensor_id"), py::arg("reduction_axis"), py::arg("float64"), py::arg("with_codes"));
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("format"), py::arg("format_a"),
        py::arg("format_b"), py::arg("role_a"), py::arg("role_b"), py::arg("seed"), py::arg("acc"),
        py::arg("threads"));
  m.def("conv", &conv, py::arg("phase"), py::arg("x"), py::arg("w"), py::arg("e"),
        py::arg("format"), py::arg("format_x"), py::arg("format_w"), py::arg("format_e"),
        py::arg("input_hw"), py::arg("kernel"), py::arg("stride"), py::arg("pad"), py::arg("seed"),
        py::arg("acc"), py::arg("dgrad_lowering"), py::arg("threads"));
  m.def("ptq", &ptq, py::arg("w"), py::arg("x"), py::arg("xq"), py::arg("method"), py::arg("bits"),
        py::arg("c_alpha"), py::arg("form"), py::arg("stochastic"), py::arg("seed"),
        py::arg("threads"));
}
