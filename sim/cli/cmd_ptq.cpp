// lbsim ptq: post-training quantization of one layer's weights (GPFQ or MSQ, models/ptq/gpfq.h)
// from .npy files. Every input is read and validated and the result computed before anything is
// written; the outputs are written together or not at all (OutputSet).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "models/core/error.h"
#include "models/core/npy.h"
#include "models/core/output.h"
#include "models/ptq/gpfq.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {

struct PtqArgs {
  std::string method = "gpfq", form = "auto", weights, inputs, inputs_q, out, bias, bias_out;
  int bits = 4, threads = 0;
  double c_alpha = kDefaultCAlpha;
  bool stochastic = false;
  uint64_t seed = 0;
  NpyReadOptions npy;
};

void cmd_ptq(const PtqArgs& a) {
  PtqOptions o;
  o.method = parse_ptq_method(a.method, "--method");
  o.form = parse_gpfq_form(a.form, "--form");
  o.bits = a.bits;
  o.c_alpha = a.c_alpha;
  o.stochastic = a.stochastic;
  o.seed = a.seed;
  o.threads = a.threads > 0 ? a.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const Tensor w = read_npy_tensor(a.weights, a.npy);
  const Tensor x = read_npy_tensor(a.inputs, a.npy);
  std::optional<Tensor> xq;
  if (!a.inputs_q.empty()) xq = read_npy_tensor(a.inputs_q, a.npy);
  PtqNames names{"--weights " + a.weights, "--inputs " + a.inputs, "--inputs-q " + a.inputs_q};
  std::optional<Tensor> bias;
  if (!a.bias.empty()) {
    if (a.bias_out.empty()) throw UserError("error: --bias needs --bias-correction OUT.npy");
    bias = read_npy_tensor(a.bias, a.npy);
    if (w.shape.size() == 2 && bias->shape != Shape{w.shape[0]})
      throw UserError(fmt::format("error: --bias {}: shape {}; expected ({},), one per neuron",
                                  a.bias, shape_str(bias->shape), w.shape[0]));
  }
  const PtqResult r = quantize_layer(w, x, xq ? &*xq : nullptr, o, names);

  OutputSet out;
  out.add(a.out, npy_f4_bytes(r.shape, r.q));
  std::vector<float> bq;
  if (!a.bias_out.empty()) {
    bq.resize(r.bias_shift.size());
    for (size_t i = 0; i < bq.size(); ++i)
      bq[i] = static_cast<float>((bias ? bias->data[i] : 0.0) + r.bias_shift[i]);
    out.add(a.bias_out, npy_f4_bytes({r.shape[0]}, bq));
  }
  out.commit();
  std::printf("lbsim ptq: %s%s, %d bits (levels -%lld..%lld), c_alpha %g, form %s\n",
              to_string(o.method), o.stochastic ? " (stochastic)" : "", o.bits,
              static_cast<long long>(r.K), static_cast<long long>(r.K), o.c_alpha,
              to_string(r.form));
  std::printf("layer:    %lld neurons x %lld weights, %lld samples%s\n",
              static_cast<long long>(r.shape[0]), static_cast<long long>(r.shape[1]),
              static_cast<long long>(x.shape[0]), xq ? " (quantized-network inputs given)" : "");
  std::printf("delta:    %.9g (saturated %lld of %lld weights)\n", r.delta,
              static_cast<long long>(r.saturated), static_cast<long long>(r.q.size()));
  std::printf("error:    ||XW^T - XqQ^T||_F = %.6g, relative %.6g (relative square %.6g)\n",
              std::sqrt(r.err2), r.ref2 > 0 ? std::sqrt(r.err2 / r.ref2) : 0.0,
              r.ref2 > 0 ? r.err2 / r.ref2 : 0.0);
  std::printf("wrote:    %s%s\n", a.out.c_str(),
              a.bias_out.empty() ? "" : (", " + a.bias_out + " (bias corrected)").c_str());
}

void add_ptq_command(CLI::App& app) {
  auto pa = std::make_shared<PtqArgs>();
  auto* c = app.add_subcommand(
      "ptq", "Post-training quantization of a layer's weights (GPFQ or MSQ) from .npy files");
  c->add_option("--method", pa->method, "gpfq (greedy path following) or msq (nearest level)")
      ->default_val("gpfq");
  c->add_option("--bits", pa->bits, "b: levels k*delta, k = -2^(b-1)..2^(b-1)")
      ->check(CLI::Range(1, 16))
      ->required();
  c->add_option("--weights", pa->weights, "W: (neurons, weights per neuron) .npy")->required();
  c->add_option("--inputs", pa->inputs, "X: (samples, weights per neuron) .npy, analog inputs")
      ->required();
  c->add_option("--inputs-q", pa->inputs_q,
                "X~: inputs from the already quantized earlier layers (default: X)");
  c->add_option("--c-alpha", pa->c_alpha,
                "delta = c_alpha * mean over neurons of max |w| / 2^(b-1)")
      ->default_val(kDefaultCAlpha);
  c->add_option("--form", pa->form,
                "auto (the cheaper), path (O(neurons x weights x samples)) or covariance "
                "(Gram matrices; O(neurons x weights^2) after building them)")
      ->default_val("auto");
  c->add_flag("--stochastic", pa->stochastic, "Stochastic rounding to the two nearest levels");
  c->add_option("--seed", pa->seed, "Seed of --stochastic (neuron i, weight t: one draw)")
      ->default_val(0);
  c->add_option("--bias", pa->bias, "b: (neurons,) .npy, the layer's bias (default 0)");
  c->add_option("--bias-correction", pa->bias_out,
                "Write b + mean over samples of (XW^T - X~Q^T) here (.npy, (neurons,))");
  c->add_option("--threads", pa->threads, "Worker threads over neurons (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->default_val(0);
  add_npy_bf16_flag(c, pa->npy.bf16);
  c->add_option("--out", pa->out, "Q: quantized weights (float32 .npy, W's shape)")->required();
  c->callback([pa] { cmd_ptq(*pa); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_ptq_command, 25)

}  // namespace lbsim::cli
