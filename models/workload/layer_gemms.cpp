// A layer's training GEMMs from its tensors (contract: layer_gemms.h).
#include "models/workload/layer_gemms.h"

#include <fmt/format.h>

#include <utility>

#include "models/core/error.h"

namespace lbsim {

std::string layer_gemms_unsupported(const LayerSpec& l) {
  if (l.type != LayerType::kConv2d && l.type != LayerType::kLinear)
    return fmt::format("{} layer (no weight GEMMs)", layer_type_name(l.type));
  if (l.type == LayerType::kConv2d && (l.groups != 1 || l.dilation_h != 1 || l.dilation_w != 1 ||
                                       l.stride_h != l.stride_w || l.pad_h != l.pad_w))
    return "conv2d with groups, dilation or non-square stride/padding";
  return "";
}

LayerShapes layer_shapes(const LayerSpec& l, int64_t batch) {
  LayerShapes s;
  if (l.type == LayerType::kConv2d) {
    s.x = {batch, l.in_channels, l.in_h, l.in_w};
    s.w = {l.out_channels, l.in_channels, l.kernel_h, l.kernel_w};
    s.geo = make_conv_geometry(s.x, s.w, l.stride_h, l.pad_h);
    s.e = {batch, l.out_channels, s.geo.ho, s.geo.wo};
  } else {
    s.x = {l.rows, l.in_channels};
    s.w = {l.out_channels, l.in_channels};
    s.e = {l.rows, l.out_channels};
  }
  return s;
}

namespace {

FormatPtr role_format(const std::string& own, const FormatPtr& arch_default,
                      const std::string& layer, const char* role) {
  if (own.empty()) return arch_default;
  return make_format(own, SourceLoc{fmt::format("<layer {} precision.{}>", layer, role)});
}

}  // namespace

LayerFormats layer_formats(const LayerSpec& l, const PeArrayConfig& pe) {
  LayerFormats f;
  f.weight = role_format(l.precision.weight, pe.weight, l.name, "weight");
  f.activation = role_format(l.precision.activation, pe.activation, l.name, "activation");
  f.error = role_format(l.precision.error, pe.error, l.name, "error");
  return f;
}

Tensor transpose2(const Tensor& t) {
  Tensor o;
  o.shape = {t.shape[1], t.shape[0]};
  o.data.resize(t.data.size());
  for (int64_t i = 0; i < t.shape[0]; ++i)
    for (int64_t j = 0; j < t.shape[1]; ++j)
      o.data[j * t.shape[0] + i] = t.data[i * t.shape[1] + j];
  return o;
}

std::vector<LayerGemm> layer_gemms(const LayerSpec& l, const LayerFormats& f, const LayerTensors& t,
                                   bool training, uint64_t seed, const TensorIds& ids,
                                   DgradLowering dgrad, const OutputSampler& sample) {
  std::vector<LayerGemm> out;
  const auto add = [&](Phase phase, QTensor a, QTensor b, const GemmLowering& lower) {
    LayerGemm g;
    static_cast<OwnedGemm&>(g) = own_gemm(std::move(a), std::move(b), lower,
                                          fmt::format("layer {} {}", l.name, phase_name(phase)));
    g.phase = phase;
    out.push_back(std::move(g));
  };
  const auto q = [&](const FormatPtr& fmt_, const Tensor& x, Role role, uint64_t id, int axis) {
    return quantize_operand(fmt_, x, role, seed, id, axis,
                            fmt::format("{} {}", l.name, role_name(role)));
  };
  if (l.type == LayerType::kConv2d) {
    const ConvGeometry geo = make_conv_geometry(t.x.shape, t.w.shape, l.stride_h, l.pad_h);
    const QTensor qx = q(f.activation, t.x, Role::kActivation, ids.x, -1);
    const QTensor qw = q(f.weight, t.w, Role::kWeight, ids.w, -1);
    const auto conv = [&geo, dgrad, &sample](Phase phase, ConvPhase ph) {
      return [phase, ph, &geo, dgrad, &sample](const QTensor& a, const QTensor& b) {
        if (!sample) return lower_conv(ph, a, b, geo, dgrad);
        const ConvGemmShape s = conv_gemm_shape(ph, geo, dgrad);
        const OutputSample o = sample(phase, s.m, s.n, s.k);
        return lower_conv_sampled(ph, a, b, geo, dgrad, o.rows, o.cols);
      };
    };
    add(Phase::kFwd, qx, qw, conv(Phase::kFwd, ConvPhase::kFwd));
    if (!training) return out;
    const QTensor qe = q(f.error, t.e, Role::kError, ids.e, -1);
    add(Phase::kDgrad, qe, qw, conv(Phase::kDgrad, ConvPhase::kDgrad));
    add(Phase::kWgrad, qx, qe, conv(Phase::kWgrad, ConvPhase::kWgrad));
    return out;
  }
  const auto gemm = [&sample](Phase phase) {
    return [phase, &sample](const QTensor& a, const QTensor& b) {
      GemmProblem p = lower_gemm(a, b);
      if (!sample) return p;
      const OutputSample o = sample(phase, p.m, p.n, p.k);
      return sub_problem(p, o.rows, o.cols);
    };
  };
  add(Phase::kFwd, q(f.activation, t.x, Role::kActivation, ids.x, 1),
      q(f.weight, transpose2(t.w), Role::kWeight, ids.w, 0), gemm(Phase::kFwd));
  if (!training) return out;
  add(Phase::kDgrad, q(f.error, t.e, Role::kError, ids.e, 1),
      q(f.weight, t.w, Role::kWeight, ids.w, 0), gemm(Phase::kDgrad));
  add(Phase::kWgrad, q(f.activation, transpose2(t.x), Role::kActivation, ids.x, 1),
      q(f.error, t.e, Role::kError, ids.e, 0), gemm(Phase::kWgrad));
  return out;
}

}  // namespace lbsim
