// Expansion rules (models/workload/expand.cpp) and the model zoo (models/workload/zoo.h).
//
// Expected MAC counts are derived here from the architecture definitions (per-layer formulas
// Cin/G * Cout * R * S * Ho * Wo, in * out * rows, count * m * n * k) and compared with the figures
// published for the networks (torchvision model documentation, the commonly cited ~40.6M for
// ResNet-20). MAC totals count GEMM work only (conv, linear, matmul layers); element-wise work
// (norms, activations, pools, adds, loss) is vector ops and carries no MACs.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/workload/workload.h"
#include "models/workload/zoo.h"

using namespace lbsim;
using Catch::Matchers::Contains;

namespace {

// Forward MACs per sample of one conv: Cin/G * Cout * R * S * Ho * Wo (square kernel and map).
int64_t conv_macs(int64_t cin, int64_t cout, int64_t k, int64_t hw_out, int64_t groups = 1) {
  return cin / groups * cout * k * k * hw_out * hw_out;
}

// torchvision ResNet-18/34: stem 7x7/2 -> 112, maxpool -> 56; stage s has 64*2^s channels at
// 56/2^s; the first block of stages 2..4 has a strided 3x3 conv1 and a 1x1 projection.
int64_t resnet_basic_fwd(const std::vector<int>& blocks) {
  int64_t total = conv_macs(3, 64, 7, 112);
  int64_t cin = 64;
  for (int s = 0; s < 4; ++s) {
    const int64_t p = int64_t{64} << s, hw = 56 >> s;
    total += conv_macs(cin, p, 3, hw) + conv_macs(p, p, 3, hw);
    if (s > 0) total += conv_macs(cin, p, 1, hw);
    total += (blocks[s] - 1) * 2 * conv_macs(p, p, 3, hw);
    cin = p;
  }
  return total + 512 * 1000;
}

// torchvision ResNet-50 (v1.5): bottleneck 1x1 (at the input resolution), 3x3 (strided), 1x1 to
// 4p; the first block of every stage has a 1x1 projection (strided in stages 2..4).
int64_t resnet50_fwd() {
  const int blocks[4] = {3, 4, 6, 3};
  int64_t total = conv_macs(3, 64, 7, 112);
  int64_t cin = 64;
  for (int s = 0; s < 4; ++s) {
    const int64_t p = int64_t{64} << s, hw = 56 >> s, in_hw = s == 0 ? 56 : 2 * hw;
    total += conv_macs(cin, p, 1, in_hw) + conv_macs(p, p, 3, hw) + conv_macs(p, 4 * p, 1, hw) +
             conv_macs(cin, 4 * p, 1, hw);
    total += (blocks[s] - 1) *
             (conv_macs(4 * p, p, 1, hw) + conv_macs(p, p, 3, hw) + conv_macs(p, 4 * p, 1, hw));
    cin = 4 * p;
  }
  return total + 2048 * 1000;
}

// ResNet-20: conv 3->16 at 32x32, three stages of 3 basic blocks (16@32, 32@16, 64@8), fc 64->10.
int64_t resnet20_fwd(bool projection) {
  int64_t total = conv_macs(3, 16, 3, 32);
  total += 6 * conv_macs(16, 16, 3, 32);
  total += conv_macs(16, 32, 3, 16) + 5 * conv_macs(32, 32, 3, 16);
  total += conv_macs(32, 64, 3, 8) + 5 * conv_macs(64, 64, 3, 8);
  if (projection) total += conv_macs(16, 32, 1, 16) + conv_macs(32, 64, 1, 8);
  return total + 64 * 10;
}

// VGG-16 convs (configuration D) for an input of `hw`; each maxpool halves the map.
int64_t vgg16_conv_fwd(int64_t hw) {
  return conv_macs(3, 64, 3, hw) + conv_macs(64, 64, 3, hw) + conv_macs(64, 128, 3, hw / 2) +
         conv_macs(128, 128, 3, hw / 2) + conv_macs(128, 256, 3, hw / 4) +
         2 * conv_macs(256, 256, 3, hw / 4) + conv_macs(256, 512, 3, hw / 8) +
         2 * conv_macs(512, 512, 3, hw / 8) + 3 * conv_macs(512, 512, 3, hw / 16);
}

// MobileNetV2: stem 3->32 /2, inverted residual table (t, c, n, s), last 1x1 to 1280 at 7x7,
// fc 1280 -> 1000. Block: [1x1 expand if t > 1], depthwise 3x3 (groups = hidden), 1x1 project.
int64_t mobilenet_v2_fwd() {
  const int64_t table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                               {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t total = conv_macs(3, 32, 3, 112);
  int64_t c = 32, hw = 112;
  for (const auto& row : table) {
    for (int64_t i = 0; i < row[2]; ++i) {
      const int64_t hidden = c * row[0], out_hw = i == 0 ? hw / row[3] : hw;
      if (row[0] != 1) total += conv_macs(c, hidden, 1, hw);
      total += conv_macs(hidden, hidden, 3, out_hw, hidden) + conv_macs(hidden, row[1], 1, out_hw);
      c = row[1];
      hw = out_hw;
    }
  }
  return total + conv_macs(320, 1280, 1, 7) + 1280 * 1000;
}

// ViT-B/16: patch conv 3->768 16x16 on 14x14 patches; per layer with T = 197 tokens: qkv
// T*768*2304, q@k^T 12*T*T*64, attn@v 12*T*64*T, proj T*768*768, mlp 2*T*768*3072; head 768*1000
// on the class token.
int64_t vit_b16_fwd() {
  const int64_t t = 197;
  const int64_t per_layer =
      t * 768 * 2304 + 12 * t * t * 64 + 12 * t * 64 * t + t * 768 * 768 + 2 * t * 768 * 3072;
  return conv_macs(3, 768, 16, 14) + 12 * per_layer + 768 * 1000;
}

const LayerSpec& find_layer(const Workload& w, const std::string& name) {
  for (const auto& l : w.layers) {
    if (l.name == name) return l;
  }
  FAIL("no layer " << name << " in " << w.network);
  throw std::logic_error("unreachable");
}

int64_t layer_macs(const LayerSpec& l, Phase p) {
  int64_t total = 0;
  for (const auto& op : l.ops) {
    if (op.phase == p) total += op.macs();
  }
  return total;
}

std::vector<const Op*> ops_of(const LayerSpec& l, Phase p) {
  std::vector<const Op*> out;
  for (const auto& op : l.ops) {
    if (op.phase == p) out.push_back(&op);
  }
  return out;
}

int64_t update_elements(const Workload& w) {
  int64_t total = 0;
  for (const auto& l : w.layers) {
    for (const auto& op : l.ops) {
      if (op.phase == Phase::kUpdate) total += op.elements;
    }
  }
  return total;
}

LayerSpec conv_layer(int64_t cin, int64_t cout, int64_t k, int64_t hw) {
  LayerSpec l;
  l.name = "bad";
  l.type = LayerType::kConv2d;
  l.in_channels = cin;
  l.out_channels = cout;
  l.kernel_h = l.kernel_w = k;
  l.in_h = l.in_w = hw;
  return l;
}

// expand_layer(l, ...) must throw a UserError naming layer 'bad' and `field`.
void require_error(LayerSpec l, const std::string& field, int64_t batch = 1, int64_t smp = 1) {
  INFO("field " << field);
  REQUIRE_THROWS_AS(expand_layer(l, batch, true, smp), UserError);
  REQUIRE_THROWS_WITH(expand_layer(l, batch, true, smp), Contains("layer 'bad': " + field + ":"));
}

}  // namespace

TEST_CASE("zoo forward MACs at batch 1 follow the architecture and the published figures",
          "[zoo]") {
  struct Case {
    const char* name;
    int64_t formula;
    double published;  // torchvision docs (GFLOPS there = GMACs); 0 = no published figure
  };
  const Case cases[] = {
      {"resnet18", resnet_basic_fwd({2, 2, 2, 2}), 1.81e9},
      {"resnet34", resnet_basic_fwd({3, 4, 6, 3}), 3.66e9},
      {"resnet50", resnet50_fwd(), 4.09e9},
      {"resnet20", resnet20_fwd(false), 40.6e6},
      {"resnet20_b", resnet20_fwd(true), 0},
      {"vgg16", vgg16_conv_fwd(224) + 25088 * 4096 + 4096 * 4096 + 4096 * 1000, 15.47e9},
      {"vgg16_cifar", vgg16_conv_fwd(32) + 512 * 10, 0},
      {"mobilenet_v2", mobilenet_v2_fwd(), 0.30e9},
      {"vit_b16", vit_b16_fwd(), 17.56e9},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Workload w = zoo_workload(c.name, 1);
    CHECK(w.network == c.name);
    CHECK(w.batch == 1);
    CHECK(w.total_macs(Phase::kFwd) == c.formula);
    if (c.published > 0) CHECK(double(c.formula) == Approx(c.published).epsilon(0.01));
  }
}

TEST_CASE("zoo parameter counts (update elements) match torchvision", "[zoo]") {
  // torchvision's published parameter counts; ViT without the class token (768) and position
  // embedding (197 * 768), which the zoo does not update.
  CHECK(update_elements(zoo_workload("resnet18", 1)) == 11689512);
  CHECK(update_elements(zoo_workload("resnet34", 1)) == 21797672);
  CHECK(update_elements(zoo_workload("resnet50", 1)) == 25557032);
  CHECK(update_elements(zoo_workload("vgg16", 1)) == 138357544);
  CHECK(update_elements(zoo_workload("mobilenet_v2", 1)) == 3504872);
  CHECK(update_elements(zoo_workload("vit_b16", 1)) == 86567656 - 768 - 197 * 768);
  // ResNet-20: convs without bias, bn 2 per channel, fc 64*10 + 10.
  const int64_t r20 = 3 * 16 * 9 + 2 * 16 + 6 * (16 * 16 * 9 + 2 * 16) + 16 * 32 * 9 +
                      5 * 32 * 32 * 9 + 6 * 2 * 32 + 32 * 64 * 9 + 5 * 64 * 64 * 9 + 6 * 2 * 64 +
                      64 * 10 + 10;
  CHECK(update_elements(zoo_workload("resnet20", 1)) == r20);
  CHECK(update_elements(zoo_workload("resnet20_b", 1)) ==
        r20 + 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64);
}

TEST_CASE("zoo: dgrad and wgrad MACs equal forward per GEMM layer", "[zoo]") {
  for (const auto& name : zoo_names()) {
    INFO(name);
    const Workload w = zoo_workload(name, 2);
    REQUIRE(!w.layers.empty());
    CHECK_FALSE(w.layers.front().input_grad);
    CHECK(ops_of(w.layers.front(), Phase::kDgrad).empty());
    int64_t no_dgrad = 0, matmul_fwd = 0;
    for (size_t i = 0; i < w.layers.size(); ++i) {
      const LayerSpec& l = w.layers[i];
      INFO(l.name);
      CHECK(l.input_grad == (i != 0));
      const int64_t fwd = layer_macs(l, Phase::kFwd);
      if (l.type == LayerType::kConv2d || l.type == LayerType::kLinear) {
        CHECK(fwd > 0);
        CHECK(layer_macs(l, Phase::kWgrad) == fwd);
        CHECK(layer_macs(l, Phase::kDgrad) == (l.input_grad ? fwd : 0));
        if (!l.input_grad) no_dgrad += fwd;
      } else if (l.type == LayerType::kMatmul) {
        CHECK(layer_macs(l, Phase::kDgrad) == 2 * fwd);  // dA and dB
        CHECK(layer_macs(l, Phase::kWgrad) == 0);
        matmul_fwd += fwd;
      } else {
        CHECK(fwd == 0);
      }
    }
    const int64_t fwd = w.total_macs(Phase::kFwd);
    CHECK(w.total_macs(Phase::kDgrad) == fwd - no_dgrad + matmul_fwd);
    CHECK(w.total_macs(Phase::kWgrad) == fwd - matmul_fwd);
    CHECK(w.total_macs(Phase::kUpdate) == 0);
  }
}

TEST_CASE("zoo: batch scaling is linear, update work is batch independent", "[zoo]") {
  for (const auto& name : zoo_names()) {
    INFO(name);
    const Workload w1 = zoo_workload(name, 1), w3 = zoo_workload(name, 3);
    REQUIRE(w1.layers.size() == w3.layers.size());
    for (Phase p : {Phase::kFwd, Phase::kDgrad, Phase::kWgrad}) {
      INFO(phase_name(p));
      CHECK(w3.total_macs(p) == 3 * w1.total_macs(p));
    }
    for (size_t i = 0; i < w1.layers.size(); ++i) {
      const auto &a = w1.layers[i].ops, &b = w3.layers[i].ops;
      REQUIRE(a.size() == b.size());
      for (size_t j = 0; j < a.size(); ++j) {
        if (a[j].kind != OpKind::kVector) continue;
        INFO(w1.layers[i].name << " " << a[j].name);
        CHECK(b[j].elements == (a[j].phase == Phase::kUpdate ? 1 : 3) * a[j].elements);
      }
    }
  }
}

TEST_CASE("smp_samples multiplies dgrad and wgrad GEMMs, training=false keeps forward only",
          "[zoo]") {
  for (const char* name : {"resnet18", "mobilenet_v2", "vit_b16"}) {
    INFO(name);
    const Workload base = zoo_workload(name, 2);
    Workload smp = base;
    smp.smp_samples = 2;
    expand_workload(smp);
    CHECK(smp.total_macs(Phase::kFwd) == base.total_macs(Phase::kFwd));
    CHECK(smp.total_macs(Phase::kDgrad) == 2 * base.total_macs(Phase::kDgrad));
    CHECK(smp.total_macs(Phase::kWgrad) == 2 * base.total_macs(Phase::kWgrad));
    for (const auto& l : smp.layers) {
      for (const auto& op : l.ops) {
        if (op.kind == OpKind::kGemm) CHECK(op.samples == (op.phase == Phase::kFwd ? 1 : 2));
      }
    }

    Workload inference = base;
    inference.training = false;
    expand_workload(inference);
    CHECK(inference.total_macs(Phase::kFwd) == base.total_macs(Phase::kFwd));
    for (const auto& l : inference.layers) {
      INFO(l.name);
      CHECK(!l.ops.empty());
      for (const auto& op : l.ops) CHECK(op.phase == Phase::kFwd);
    }
  }
  // Batch norm at inference applies folded running statistics: 2 ops per element, 5 in training.
  Workload w = zoo_workload("resnet18", 1);
  CHECK(find_layer(w, "bn1").ops.front().ops_per_element == 5);
  w.training = false;
  expand_workload(w);
  CHECK(find_layer(w, "bn1").ops.front().ops_per_element == 2);
}

TEST_CASE("zoo layer names, order and structure", "[zoo]") {
  const std::vector<std::string> expected = {"resnet18",    "resnet34",     "resnet50",
                                             "resnet20",    "resnet20_b",   "vgg16",
                                             "vgg16_cifar", "mobilenet_v2", "vit_b16"};
  CHECK(zoo_names() == expected);
  for (const auto& name : zoo_names()) {
    INFO(name);
    CHECK(!zoo_description(name).empty());
    const Workload w = zoo_workload(name, 1);
    std::set<std::string> names;
    int64_t convs = 0;
    for (const auto& l : w.layers) {
      CHECK(names.insert(l.name).second);  // unique
      if (l.type != LayerType::kConv2d) continue;
      ++convs;
      // The output size the zoo writes equals the conv formula.
      INFO(l.name);
      CHECK(l.out_h ==
            (l.in_h + 2 * l.pad_h - l.dilation_h * (l.kernel_h - 1) - 1) / l.stride_h + 1);
      CHECK(l.out_w ==
            (l.in_w + 2 * l.pad_w - l.dilation_w * (l.kernel_w - 1) - 1) / l.stride_w + 1);
    }
    CHECK(w.layers.back().name == "loss");
    CHECK(w.layers.back().type == LayerType::kSoftmaxCrossEntropy);
    // Convs: stem + blocks * convs per block + projections (+ last conv for MobileNetV2).
    const std::map<std::string, int64_t> conv_count = {{"resnet18", 1 + 8 * 2 + 3},
                                                       {"resnet34", 1 + 16 * 2 + 3},
                                                       {"resnet50", 1 + 16 * 3 + 4},
                                                       {"resnet20", 1 + 9 * 2},
                                                       {"resnet20_b", 1 + 9 * 2 + 2},
                                                       {"vgg16", 13},
                                                       {"vgg16_cifar", 13},
                                                       {"mobilenet_v2", 1 + 2 + 16 * 3 + 1},
                                                       {"vit_b16", 1}};
    CHECK(convs == conv_count.at(name));
  }
  const Workload r18 = zoo_workload("resnet18", 1);
  const std::vector<std::string> head = {
      "conv1",          "bn1",          "relu",           "maxpool",
      "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu",  "layer1.0.conv2",
      "layer1.0.bn2",   "layer1.0.add", "layer1.0.relu_1"};
  for (size_t i = 0; i < head.size(); ++i) CHECK(r18.layers[i].name == head[i]);
  CHECK(find_layer(r18, "layer2.0.downsample.0").stride_h == 2);
  CHECK(find_layer(r18, "fc").in_channels == 512);
  // ResNet-50 v1.5: the stride is in the 3x3 conv.
  const Workload r50 = zoo_workload("resnet50", 1);
  CHECK(find_layer(r50, "layer3.0.conv1").stride_h == 1);
  CHECK(find_layer(r50, "layer3.0.conv2").stride_h == 2);
  CHECK(find_layer(r50, "layer3.0.conv2").out_h == 14);
  // ResNet-20 option A has no shortcut conv; option B projects where the shape changes.
  for (const auto& l : zoo_workload("resnet20", 1).layers) {
    CHECK(l.name.find("shortcut") == std::string::npos);
  }
  CHECK(find_layer(zoo_workload("resnet20_b", 1), "layer3.0.shortcut.0").out_channels == 64);
  // ViT: 12 layers x (4 linear + 2 matmul) + head, attention shapes per head.
  const Workload vit = zoo_workload("vit_b16", 2);
  int64_t linears = 0, matmuls = 0;
  for (const auto& l : vit.layers) {
    linears += l.type == LayerType::kLinear;
    matmuls += l.type == LayerType::kMatmul;
  }
  CHECK(linears == 12 * 4 + 1);
  CHECK(matmuls == 12 * 2);
  const LayerSpec& qk = find_layer(vit, "encoder.layers.encoder_layer_0.self_attention.matmul_qk");
  CHECK((qk.count == 2 * 12 && qk.m == 197 && qk.n == 197 && qk.k == 64));
  const LayerSpec& av = find_layer(vit, "encoder.layers.encoder_layer_11.self_attention.matmul_av");
  CHECK((av.count == 2 * 12 && av.m == 197 && av.n == 64 && av.k == 197));
  CHECK(find_layer(vit, "encoder.layers.encoder_layer_0.self_attention.in_proj").rows == 2 * 197);
  CHECK(find_layer(vit, "heads.head").rows == 2);
}

TEST_CASE("grouped conv expansion: MobileNetV2 depthwise convs", "[zoo][expand]") {
  const Workload w = zoo_workload("mobilenet_v2", 2);
  // features.2: expansion 6 of 16 channels -> 96, depthwise 3x3 stride 2, 112 -> 56.
  const LayerSpec& dw = find_layer(w, "features.2.conv.1.0");
  CHECK(dw.groups == 96);
  CHECK(dw.in_channels == 96);
  CHECK(dw.out_h == 56);
  const int64_t pixels = 2 * 56 * 56;
  const auto fwd = ops_of(dw, Phase::kFwd), dgrad = ops_of(dw, Phase::kDgrad),
             wgrad = ops_of(dw, Phase::kWgrad);
  REQUIRE(fwd.size() == 1);
  CHECK((fwd[0]->m == pixels && fwd[0]->n == 1 && fwd[0]->k == 9 && fwd[0]->groups == 96));
  REQUIRE(dgrad.size() == 2);
  CHECK((dgrad[0]->m == pixels && dgrad[0]->n == 9 && dgrad[0]->k == 1 && dgrad[0]->groups == 96));
  CHECK(dgrad[1]->name == "col2im");
  CHECK(dgrad[1]->elements == 2 * 96 * 9 * 56 * 56);
  REQUIRE(wgrad.size() == 1);
  CHECK((wgrad[0]->m == 9 && wgrad[0]->n == 1 && wgrad[0]->k == pixels && wgrad[0]->groups == 96));
  // Every depthwise conv of the network: groups = channels, N = 1, K = 9.
  int depthwise = 0;
  for (const auto& l : w.layers) {
    if (l.type != LayerType::kConv2d || l.groups == 1) continue;
    ++depthwise;
    CHECK(l.groups == l.in_channels);
    CHECK((l.ops.front().n == 1 && l.ops.front().k == 9));
  }
  CHECK(depthwise == 17);
}

TEST_CASE("conv expansion by hand: stride 2, padding 1, dilation 2", "[expand]") {
  // Cin 4, Cout 8, 3x3, input 9 x 11, batch 2. Dilated extent 2*(3-1)+1 = 5:
  // Ho = (9 + 2 - 5) / 2 + 1 = 4, Wo = (11 + 2 - 5) / 2 + 1 = 5; M = 2*4*5 = 40, Cin*R*S = 36.
  LayerSpec l = conv_layer(4, 8, 3, 0);
  l.name = "conv3";
  l.in_h = 9;
  l.in_w = 11;
  l.stride_h = l.stride_w = 2;
  l.pad_h = l.pad_w = 1;
  l.dilation_h = l.dilation_w = 2;
  l.bias = true;
  expand_layer(l, 2, true, 1);
  REQUIRE(l.ops.size() == 5);
  const Op& fwd = l.ops[0];
  CHECK((fwd.phase == Phase::kFwd && fwd.kind == OpKind::kGemm));
  CHECK((fwd.m == 40 && fwd.n == 8 && fwd.k == 36 && fwd.groups == 1 && fwd.samples == 1));
  CHECK((fwd.a_role == Role::kActivation && fwd.b_role == Role::kWeight));
  const Op& dgrad = l.ops[1];
  CHECK((dgrad.phase == Phase::kDgrad && dgrad.m == 40 && dgrad.n == 36 && dgrad.k == 8));
  CHECK((dgrad.a_role == Role::kError && dgrad.b_role == Role::kWeight));
  const Op& col2im = l.ops[2];
  CHECK((col2im.phase == Phase::kDgrad && col2im.kind == OpKind::kVector));
  CHECK(col2im.name == "col2im");
  CHECK(col2im.elements == 2 * 4 * 3 * 3 * 4 * 5);  // batch*Cin*R*S*Ho*Wo = 1440
  const Op& wgrad = l.ops[3];
  CHECK((wgrad.phase == Phase::kWgrad && wgrad.m == 36 && wgrad.n == 8 && wgrad.k == 40));
  CHECK((wgrad.a_role == Role::kActivation && wgrad.b_role == Role::kError));
  const Op& update = l.ops[4];
  CHECK((update.phase == Phase::kUpdate && update.name == "sgd_momentum"));
  CHECK(update.elements == 8 * 4 * 9 + 8);  // weights + bias
  CHECK(update.ops_per_element == 4);
  // Each GEMM is 40 * 8 * 36 = 11520 MACs.
  CHECK(fwd.macs() == 11520);
  CHECK(dgrad.macs() == 11520);
  CHECK(wgrad.macs() == 11520);

  SECTION("idempotent") {
    expand_layer(l, 2, true, 1);
    CHECK(l.ops.size() == 5);
  }
  SECTION("groups 2: per group N = Cout/2 = 4, K = Cin/2*9 = 18") {
    l.groups = 2;
    expand_layer(l, 2, true, 3);
    CHECK((l.ops[0].n == 4 && l.ops[0].k == 18 && l.ops[0].groups == 2));
    CHECK((l.ops[1].n == 18 && l.ops[1].k == 4 && l.ops[1].samples == 3));
    CHECK(l.ops[2].elements == 1440);
    CHECK((l.ops[3].m == 18 && l.ops[3].n == 4 && l.ops[3].samples == 3));
    CHECK(l.ops[4].elements == 8 * 2 * 9 + 8);
  }
  SECTION("output size given (SCALE-Sim) is taken as given") {
    l.out_h = 7;
    l.out_w = 3;
    expand_layer(l, 1, true, 1);
    CHECK(l.ops[0].m == 21);
  }
  SECTION("input_grad false: no dgrad GEMM, no col2im") {
    l.input_grad = false;
    expand_layer(l, 2, true, 1);
    REQUIRE(l.ops.size() == 3);
    CHECK(ops_of(l, Phase::kDgrad).empty());
    CHECK(ops_of(l, Phase::kWgrad).size() == 1);
  }
  SECTION("inference: forward only") {
    expand_layer(l, 2, false, 4);
    REQUIRE(l.ops.size() == 1);
    CHECK(l.ops[0].samples == 1);
  }
}

TEST_CASE("linear and matmul expansion", "[expand]") {
  LayerSpec fc;
  fc.name = "fc1";
  fc.type = LayerType::kLinear;
  fc.in_channels = 768;
  fc.out_channels = 3072;
  fc.rows = 394;
  fc.bias = true;
  expand_layer(fc, 2, true, 2);
  REQUIRE(fc.ops.size() == 4);
  CHECK((fc.ops[0].m == 394 && fc.ops[0].n == 3072 && fc.ops[0].k == 768));
  CHECK((fc.ops[1].phase == Phase::kDgrad && fc.ops[1].m == 394 && fc.ops[1].n == 768 &&
         fc.ops[1].k == 3072 && fc.ops[1].samples == 2));
  CHECK((fc.ops[2].phase == Phase::kWgrad && fc.ops[2].m == 768 && fc.ops[2].n == 3072 &&
         fc.ops[2].k == 394 && fc.ops[2].samples == 2));
  CHECK(fc.ops[3].elements == 768 * 3072 + 3072);

  LayerSpec mm;
  mm.name = "attn_v";
  mm.type = LayerType::kMatmul;
  mm.count = 24;
  mm.m = 197;
  mm.n = 64;
  mm.k = 197;
  expand_layer(mm, 2, true, 1);
  REQUIRE(mm.ops.size() == 3);
  const Op &f = mm.ops[0], &da = mm.ops[1], &db = mm.ops[2];
  CHECK((f.m == 197 && f.n == 64 && f.k == 197 && f.groups == 24));
  CHECK((f.a_role == Role::kActivation && f.b_role == Role::kActivation));
  // dA = dC (m x n) x B^T (n x k); dB = A^T (k x m) x dC (m x n)
  CHECK((da.phase == Phase::kDgrad && da.m == 197 && da.n == 197 && da.k == 64));
  CHECK((da.a_role == Role::kError && da.b_role == Role::kActivation));
  CHECK((db.phase == Phase::kDgrad && db.m == 197 && db.n == 64 && db.k == 197));
  CHECK((db.a_role == Role::kActivation && db.b_role == Role::kError));
  mm.input_grad = false;
  expand_layer(mm, 2, true, 1);
  CHECK(mm.ops.size() == 1);
}

TEST_CASE("element-wise layers expand to vector ops", "[expand]") {
  LayerSpec bn;
  bn.name = "bn";
  bn.type = LayerType::kBatchNorm;
  bn.in_channels = 64;
  bn.elements = 64 * 56 * 56;
  expand_layer(bn, 4, true, 1);
  REQUIRE(bn.ops.size() == 4);
  for (const auto& op : bn.ops) CHECK(op.kind == OpKind::kVector);
  CHECK(ops_of(bn, Phase::kFwd).at(0)->elements == 4 * 64 * 56 * 56);
  CHECK(ops_of(bn, Phase::kDgrad).at(0)->elements == 4 * 64 * 56 * 56);
  CHECK(ops_of(bn, Phase::kWgrad).at(0)->name == "bn_param_grad");
  CHECK(ops_of(bn, Phase::kUpdate).at(0)->elements == 2 * 64);
  bn.input_grad = false;  // parameters still get gradients
  expand_layer(bn, 4, true, 1);
  CHECK(ops_of(bn, Phase::kDgrad).empty());
  CHECK(ops_of(bn, Phase::kWgrad).size() == 1);

  LayerSpec pool;
  pool.name = "maxpool";
  pool.type = LayerType::kPool;
  pool.kind = "max";
  pool.in_channels = 64;
  pool.in_h = pool.in_w = 112;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  pool.pad_h = pool.pad_w = 1;
  expand_layer(pool, 1, true, 1);  // (112 + 2 - 3) / 2 + 1 = 56
  REQUIRE(pool.ops.size() == 2);
  CHECK((pool.ops[0].elements == 64 * 56 * 56 && pool.ops[0].ops_per_element == 9));
  CHECK((pool.ops[1].phase == Phase::kDgrad && pool.ops[1].ops_per_element == 1));

  // Adaptive avg 7 -> 3: windows [0,3) [2,5) [4,7) = 9 reads per axis, 81 reads / 9 outputs.
  pool.kind = "adaptive_avg";
  pool.in_h = pool.in_w = 7;
  pool.out_h = pool.out_w = 3;
  expand_layer(pool, 1, true, 1);
  CHECK((pool.ops[0].elements == 64 * 9 && pool.ops[0].ops_per_element == 9));

  LayerSpec act;
  act.name = "gelu";
  act.type = LayerType::kActivation;
  act.kind = "gelu";
  act.elements = 197 * 3072;
  expand_layer(act, 2, true, 1);
  REQUIRE(act.ops.size() == 2);
  CHECK(act.ops[0].elements == 2 * 197 * 3072);
  CHECK(act.ops[1].phase == Phase::kDgrad);
  act.input_grad = false;
  expand_layer(act, 2, true, 1);
  CHECK(act.ops.size() == 1);

  LayerSpec loss;
  loss.name = "loss";
  loss.type = LayerType::kSoftmaxCrossEntropy;
  loss.in_channels = 1000;
  expand_layer(loss, 8, true, 1);
  REQUIRE(loss.ops.size() == 2);
  CHECK(loss.ops[0].elements == 8 * 1000);  // rows = batch

  LayerSpec ln;
  ln.name = "ln";
  ln.type = LayerType::kLayerNorm;
  ln.in_channels = 768;
  ln.rows = 394;
  expand_layer(ln, 2, true, 1);
  CHECK(ops_of(ln, Phase::kFwd).at(0)->elements == 394 * 768);
  CHECK(ops_of(ln, Phase::kUpdate).at(0)->elements == 2 * 768);

  LayerSpec emb;
  emb.name = "tok";
  emb.type = LayerType::kEmbedding;
  emb.in_channels = 30522;
  emb.out_channels = 768;
  emb.rows = 256;
  expand_layer(emb, 2, true, 1);
  CHECK(ops_of(emb, Phase::kDgrad).empty());  // token ids have no gradient
  CHECK(ops_of(emb, Phase::kWgrad).at(0)->elements == 256 * 768);
  CHECK(ops_of(emb, Phase::kUpdate).at(0)->elements == 30522 * 768);

  LayerSpec add;
  add.name = "add";
  add.type = LayerType::kAdd;
  add.elements = 100;
  expand_layer(add, 3, true, 1);
  CHECK((add.ops.size() == 2 && add.ops[0].elements == 300));
}

TEST_CASE("validation errors name the layer and the field", "[expand]") {
  const LayerSpec ok = conv_layer(8, 16, 3, 10);
  {
    LayerSpec l = ok;
    CHECK_NOTHROW(expand_layer(l, 1, true, 1));
  }
  LayerSpec l = ok;
  l.in_channels = 0;
  require_error(l, "in_channels");
  l = ok;
  l.out_channels = -4;
  require_error(l, "out_channels");
  l = ok;
  l.kernel_w = 0;
  require_error(l, "kernel");
  l = ok;
  l.stride_h = 0;
  require_error(l, "stride");
  l = ok;
  l.pad_w = -1;
  require_error(l, "padding");
  l = ok;
  l.dilation_h = 0;
  require_error(l, "dilation");
  l = ok;
  l.groups = 0;
  require_error(l, "groups");
  l = ok;
  l.groups = 3;  // 8 % 3 != 0
  require_error(l, "groups");
  l = ok;
  l.in_channels = 12;
  l.groups = 3;  // 12 % 3 == 0, 16 % 3 != 0
  require_error(l, "groups");
  l = ok;
  l.in_h = 0;
  require_error(l, "input_hw");
  l = ok;
  l.out_w = -1;
  require_error(l, "output_hw");
  l = ok;
  l.kernel_h = l.kernel_w = 11;  // 10 < 11: output < 1
  require_error(l, "output_hw");
  l = ok;
  l.dilation_h = 5;  // extent 5*2+1 = 11 > 10 + 0
  require_error(l, "output_hw");
  l = ok;
  l.pad_h = 1;  // extent 11 <= 10 + 2: output 1 is fine
  l.dilation_h = 5;
  CHECK_NOTHROW(expand_layer(l, 1, true, 1));
  // 64-bit overflow: M = batch*Ho*Wo = 2^62 * 8 * 8.
  require_error(ok, "output_hw", int64_t{1} << 62);
  // M*N*K = (2^20 * 8 * 8) * 2^20 * (2^20 * 9) > 2^63.
  l = ok;
  l.in_channels = l.out_channels = int64_t{1} << 20;
  require_error(l, "in_channels/out_channels/kernel/output_hw", int64_t{1} << 20);
  l = ok;
  require_error(l, "batch", 0);
  require_error(l, "smp_samples", 1, 0);

  LayerSpec fc;
  fc.name = "bad";
  fc.type = LayerType::kLinear;
  fc.in_channels = fc.out_channels = int64_t{1} << 20;
  fc.rows = int64_t{1} << 21;  // 2^61 MACs fit; 4 samples of them do not
  {
    LayerSpec f = fc;
    CHECK_NOTHROW(expand_layer(f, 1, true, 1));
  }
  require_error(fc, "smp_samples", 1, 4);
  LayerSpec f = fc;
  f.rows = 0;
  require_error(f, "rows");
  f = fc;
  f.in_channels = 0;
  require_error(f, "in_features");
  f = fc;
  f.out_channels = 0;
  require_error(f, "out_features");

  LayerSpec mm;
  mm.name = "bad";
  mm.type = LayerType::kMatmul;
  mm.count = 1;
  mm.m = mm.n = 4;
  mm.k = 0;
  require_error(mm, "k");
  mm.k = 4;
  mm.count = 0;
  require_error(mm, "count");

  LayerSpec bn;
  bn.name = "bad";
  bn.type = LayerType::kBatchNorm;
  bn.in_channels = 3;
  bn.elements = 10;  // not a multiple of 3
  require_error(bn, "elements");
  bn.in_channels = 0;
  require_error(bn, "channels");

  LayerSpec act;
  act.name = "bad";
  act.type = LayerType::kActivation;
  act.kind = "rleu";
  act.elements = 10;
  require_error(act, "kind");
  REQUIRE_THROWS_WITH(expand_layer(act, 1, true, 1), Contains("did you mean 'relu'?"));
  act.kind = "relu";
  act.elements = 0;
  require_error(act, "elements");

  LayerSpec pool;
  pool.name = "bad";
  pool.type = LayerType::kPool;
  pool.kind = "adaptive_avg";
  pool.in_channels = 8;
  pool.in_h = pool.in_w = 7;
  require_error(pool, "output_hw");  // adaptive pools need output_hw
  pool.kind = "min";
  require_error(pool, "kind");

  LayerSpec loss;
  loss.name = "bad";
  loss.type = LayerType::kSoftmaxCrossEntropy;
  require_error(loss, "classes");
  LayerSpec ln;
  ln.name = "bad";
  ln.type = LayerType::kLayerNorm;
  ln.in_channels = 8;
  require_error(ln, "rows");
  LayerSpec emb;
  emb.name = "bad";
  emb.type = LayerType::kEmbedding;
  emb.in_channels = 10;
  emb.rows = 4;
  require_error(emb, "dim");
  LayerSpec add;
  add.name = "bad";
  add.type = LayerType::kAdd;
  require_error(add, "elements");

  // A failed expansion leaves the previous ops in place.
  LayerSpec keep = ok;
  expand_layer(keep, 1, true, 1);
  const size_t n_ops = keep.ops.size();
  keep.groups = 3;
  CHECK_THROWS_AS(expand_layer(keep, 1, true, 1), UserError);
  CHECK(keep.ops.size() == n_ops);

  Workload w = zoo_workload("resnet20", 1);
  w.batch = 0;
  REQUIRE_THROWS_WITH(expand_workload(w), Contains("workload 'resnet20': batch:"));
}

TEST_CASE("zoo rejects unknown names and bad batches", "[zoo]") {
  REQUIRE_THROWS_AS(zoo_workload("resnt50", 1), UserError);
  REQUIRE_THROWS_WITH(zoo_workload("resnt50", 1), Contains("unknown zoo network 'resnt50'") &&
                                                      Contains("did you mean 'resnet50'?") &&
                                                      Contains("vit_b16") &&
                                                      Contains("mobilenet_v2"));
  REQUIRE_THROWS_WITH(zoo_description("alexnet"), Contains("unknown zoo network 'alexnet'"));
  REQUIRE_THROWS_WITH(zoo_workload("resnet18", 0), Contains("'resnet18': batch:"));
}
