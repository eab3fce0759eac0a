// Model zoo: the networks are generated from their architecture definitions (block counts,
// channel widths, strides), never typed in as tables of layer sizes.
#include "models/workload/zoo.h"

#include <functional>
#include <utility>

#include "models/core/error.h"

namespace lbsim {

namespace {

// A feature map per sample: channels x height x width.
struct Fmap {
  int64_t c = 0, h = 0, w = 0;
  int64_t elements() const { return c * h * w; }
};

// Output size of a conv/pool window (dilation 1, floor mode), as PyTorch computes it.
int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

// Appends layers in execution order and tracks per-sample shapes; each method returns the shape
// of its output. Layer fields follow the trace key mapping of workload.h.
class NetBuilder {
 public:
  explicit NetBuilder(int64_t batch) : m_batch(batch) {}

  Fmap conv(const std::string& name, Fmap x, int64_t cout, int64_t k, int64_t stride, int64_t pad,
            int64_t groups = 1, bool bias = false) {
    LayerSpec& l = push(name, LayerType::kConv2d);
    l.in_channels = x.c;
    l.out_channels = cout;
    l.kernel_h = l.kernel_w = k;
    l.stride_h = l.stride_w = stride;
    l.pad_h = l.pad_w = pad;
    l.groups = groups;
    l.bias = bias;
    l.in_h = x.h;
    l.in_w = x.w;
    l.out_h = window_out(x.h, k, stride, pad);
    l.out_w = window_out(x.w, k, stride, pad);
    return {cout, l.out_h, l.out_w};
  }

  Fmap bn(const std::string& name, Fmap x) {
    LayerSpec& l = push(name, LayerType::kBatchNorm);
    l.in_channels = x.c;
    l.elements = x.elements();
    return x;
  }

  Fmap act(const std::string& name, const std::string& kind, Fmap x) {
    act_elements(name, kind, x.elements());
    return x;
  }

  void act_elements(const std::string& name, const std::string& kind, int64_t elements) {
    LayerSpec& l = push(name, LayerType::kActivation);
    l.kind = kind;
    l.elements = elements;
  }

  Fmap pool(const std::string& name, const std::string& kind, Fmap x, int64_t k, int64_t stride,
            int64_t pad) {
    LayerSpec& l = push(name, LayerType::kPool);
    l.kind = kind;
    l.in_channels = x.c;
    l.in_h = x.h;
    l.in_w = x.w;
    l.kernel_h = l.kernel_w = k;
    l.stride_h = l.stride_w = stride;
    l.pad_h = l.pad_w = pad;
    l.out_h = window_out(x.h, k, stride, pad);
    l.out_w = window_out(x.w, k, stride, pad);
    return {x.c, l.out_h, l.out_w};
  }

  Fmap adaptive_avg_pool(const std::string& name, Fmap x, int64_t out_hw) {
    LayerSpec& l = push(name, LayerType::kPool);
    l.kind = "adaptive_avg";
    l.in_channels = x.c;
    l.in_h = x.h;
    l.in_w = x.w;
    l.out_h = l.out_w = out_hw;
    return {x.c, out_hw, out_hw};
  }

  void add(const std::string& name, int64_t elements) {
    LayerSpec& l = push(name, LayerType::kAdd);
    l.elements = elements;
  }

  // rows = batch * tokens
  void linear(const std::string& name, int64_t in, int64_t out, int64_t rows, bool bias = true) {
    LayerSpec& l = push(name, LayerType::kLinear);
    l.in_channels = in;
    l.out_channels = out;
    l.rows = rows;
    l.bias = bias;
  }

  void layer_norm(const std::string& name, int64_t features, int64_t rows) {
    LayerSpec& l = push(name, LayerType::kLayerNorm);
    l.in_channels = features;
    l.rows = rows;
  }

  void matmul(const std::string& name, int64_t count, int64_t m, int64_t n, int64_t k) {
    LayerSpec& l = push(name, LayerType::kMatmul);
    l.count = count;
    l.m = m;
    l.n = n;
    l.k = k;
  }

  void loss(int64_t classes) {
    LayerSpec& l = push("loss", LayerType::kSoftmaxCrossEntropy);
    l.in_channels = classes;
  }

  int64_t batch() const { return m_batch; }

  // The expanded workload; the first layer gets input_grad = false.
  Workload finish(const std::string& network, const Shape& input) {
    Workload w;
    w.network = network;
    w.batch = m_batch;
    w.input = input;
    w.layers = std::move(m_layers);
    if (!w.layers.empty()) w.layers.front().input_grad = false;
    expand_workload(w);
    return w;
  }

 private:
  LayerSpec& push(const std::string& name, LayerType type) {
    m_layers.emplace_back();
    m_layers.back().name = name;
    m_layers.back().type = type;
    return m_layers.back();
  }

  int64_t m_batch;
  std::vector<LayerSpec> m_layers;
};

std::string str(int64_t v) { return std::to_string(v); }

// torchvision ResNet (v1.5: the stride of a bottleneck is in its 3x3 conv) on ImageNet 224x224.
Workload resnet_imagenet(const std::string& network, int64_t batch, const std::vector<int>& blocks,
                         bool bottleneck) {
  NetBuilder b(batch);
  Fmap x{3, 224, 224};
  x = b.conv("conv1", x, 64, 7, 2, 3);
  x = b.bn("bn1", x);
  x = b.act("relu", "relu", x);
  x = b.pool("maxpool", "max", x, 3, 2, 1);
  const int64_t expansion = bottleneck ? 4 : 1;
  for (size_t s = 0; s < blocks.size(); ++s) {
    const int64_t planes = int64_t{64} << s;
    for (int i = 0; i < blocks[s]; ++i) {
      const std::string p = "layer" + str(s + 1) + "." + str(i) + ".";
      const int64_t stride = (s > 0 && i == 0) ? 2 : 1;
      const Fmap in = x;
      if (bottleneck) {
        x = b.conv(p + "conv1", x, planes, 1, 1, 0);
        x = b.bn(p + "bn1", x);
        x = b.act(p + "relu", "relu", x);
        x = b.conv(p + "conv2", x, planes, 3, stride, 1);
        x = b.bn(p + "bn2", x);
        x = b.act(p + "relu_1", "relu", x);
        x = b.conv(p + "conv3", x, planes * expansion, 1, 1, 0);
        x = b.bn(p + "bn3", x);
      } else {
        x = b.conv(p + "conv1", x, planes, 3, stride, 1);
        x = b.bn(p + "bn1", x);
        x = b.act(p + "relu", "relu", x);
        x = b.conv(p + "conv2", x, planes, 3, 1, 1);
        x = b.bn(p + "bn2", x);
      }
      if (stride != 1 || in.c != planes * expansion) {
        Fmap d = b.conv(p + "downsample.0", in, planes * expansion, 1, stride, 0);
        b.bn(p + "downsample.1", d);
      }
      b.add(p + "add", x.elements());
      x = b.act(p + (bottleneck ? "relu_2" : "relu_1"), "relu", x);
    }
  }
  x = b.adaptive_avg_pool("avgpool", x, 1);
  b.linear("fc", x.c, 1000, batch);
  b.loss(1000);
  return b.finish(network, {3, 224, 224});
}

// ResNet-20 for CIFAR-10 (He et al. 2016, section 4.2): 16/32/64 channels, 3 basic blocks per
// stage. Option A: identity shortcuts, subsampled and zero-padded where the shape changes (data
// movement only, so no layer); option B: 1x1 projection conv + bn where the shape changes.
Workload resnet_cifar(const std::string& network, int64_t batch, bool projection) {
  NetBuilder b(batch);
  Fmap x{3, 32, 32};
  x = b.conv("conv1", x, 16, 3, 1, 1);
  x = b.bn("bn1", x);
  x = b.act("relu", "relu", x);
  for (int s = 0; s < 3; ++s) {
    const int64_t planes = int64_t{16} << s;
    for (int i = 0; i < 3; ++i) {
      const std::string p = "layer" + str(s + 1) + "." + str(i) + ".";
      const int64_t stride = (s > 0 && i == 0) ? 2 : 1;
      const Fmap in = x;
      x = b.conv(p + "conv1", x, planes, 3, stride, 1);
      x = b.bn(p + "bn1", x);
      x = b.act(p + "relu", "relu", x);
      x = b.conv(p + "conv2", x, planes, 3, 1, 1);
      x = b.bn(p + "bn2", x);
      if (projection && (stride != 1 || in.c != planes)) {
        Fmap d = b.conv(p + "shortcut.0", in, planes, 1, stride, 0);
        b.bn(p + "shortcut.1", d);
      }
      b.add(p + "add", x.elements());
      x = b.act(p + "relu_1", "relu", x);
    }
  }
  x = b.pool("avgpool", "avg", x, x.h, x.h, 0);  // F.avg_pool2d(out, out.size()[3])
  b.linear("linear", x.c, 10, batch);
  b.loss(10);
  return b.finish(network, {3, 32, 32});
}

// VGG-16 (configuration D). ImageNet: torchvision vgg16 (no batch norm, conv bias, adaptive 7x7
// avgpool, classifier 25088-4096-4096-1000 with dropout). CIFAR: the common CIFAR variant
// (conv + bn + relu, five 2x2 maxpools down to 1x1, a 1x1 avgpool, one fc 512 -> 10).
Workload vgg16(const std::string& network, int64_t batch, bool cifar) {
  const int kPool = 0;
  const std::vector<int> cfg = {64,    64,  kPool, 128, 128,   kPool, 256, 256, 256,
                                kPool, 512, 512,   512, kPool, 512,   512, 512, kPool};
  NetBuilder b(batch);
  const int64_t hw = cifar ? 32 : 224;
  Fmap x{3, hw, hw};
  int idx = 0;
  auto next = [&idx]() { return "features." + str(idx++); };
  for (int v : cfg) {
    if (v == kPool) {
      x = b.pool(next(), "max", x, 2, 2, 0);
      continue;
    }
    x = b.conv(next(), x, v, 3, 1, 1, 1, true);
    if (cifar) x = b.bn(next(), x);
    x = b.act(next(), "relu", x);
  }
  if (cifar) {
    x = b.pool(next(), "avg", x, 1, 1, 0);
    b.linear("classifier", x.elements(), 10, batch);
    b.loss(10);
    return b.finish(network, {3, 32, 32});
  }
  x = b.adaptive_avg_pool("avgpool", x, 7);
  b.linear("classifier.0", x.elements(), 4096, batch);
  b.act_elements("classifier.1", "relu", 4096);
  b.act_elements("classifier.2", "dropout", 4096);
  b.linear("classifier.3", 4096, 4096, batch);
  b.act_elements("classifier.4", "relu", 4096);
  b.act_elements("classifier.5", "dropout", 4096);
  b.linear("classifier.6", 4096, 1000, batch);
  b.loss(1000);
  return b.finish(network, {3, 224, 224});
}

// torchvision mobilenet_v2 (width 1.0): inverted residuals (t, c, n, s), depthwise 3x3 convs as
// groups = channels, ReLU6, last 1x1 conv to 1280, dropout 0.2 + fc 1000.
Workload mobilenet_v2(const std::string& network, int64_t batch) {
  struct Setting {
    int64_t t, c, n, s;
  };
  const std::vector<Setting> settings = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
                                         {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
                                         {6, 320, 1, 1}};
  NetBuilder b(batch);
  Fmap x{3, 224, 224};
  x = b.conv("features.0.0", x, 32, 3, 2, 1);
  x = b.bn("features.0.1", x);
  x = b.act("features.0.2", "relu6", x);
  int idx = 1;
  for (const auto& st : settings) {
    for (int64_t i = 0; i < st.n; ++i, ++idx) {
      const std::string p = "features." + str(idx) + ".conv.";
      const int64_t stride = i == 0 ? st.s : 1;
      const Fmap in = x;
      const int64_t hidden = in.c * st.t;
      int j = 0;
      if (st.t != 1) {
        x = b.conv(p + "0.0", x, hidden, 1, 1, 0);
        x = b.bn(p + "0.1", x);
        x = b.act(p + "0.2", "relu6", x);
        j = 1;
      }
      x = b.conv(p + str(j) + ".0", x, hidden, 3, stride, 1, hidden);
      x = b.bn(p + str(j) + ".1", x);
      x = b.act(p + str(j) + ".2", "relu6", x);
      x = b.conv(p + str(j + 1), x, st.c, 1, 1, 0);
      x = b.bn(p + str(j + 2), x);
      if (stride == 1 && in.c == st.c) b.add("features." + str(idx) + ".add", x.elements());
    }
  }
  const std::string last = "features." + str(idx) + ".";
  x = b.conv(last + "0", x, 1280, 1, 1, 0);
  x = b.bn(last + "1", x);
  x = b.act(last + "2", "relu6", x);
  x = b.adaptive_avg_pool("avgpool", x, 1);
  b.act_elements("classifier.0", "dropout", x.elements());
  b.linear("classifier.1", x.elements(), 1000, batch);
  b.loss(1000);
  return b.finish(network, {3, 224, 224});
}

// torchvision vit_b_16: 16x16 patches of a 224x224 image -> 196 tokens + class token, 12 encoder
// layers (hidden 768, 12 heads, MLP 3072, pre-norm), dropout 0 (no layers). The learned position
// embedding is one add; its and the class token's parameter updates (0.2% of the parameters) are
// not modelled. The head sees only the class token.
Workload vit_b16(const std::string& network, int64_t batch) {
  const int64_t hidden = 768, heads = 12, mlp = 3072, patch = 16;
  NetBuilder b(batch);
  Fmap x{3, 224, 224};
  x = b.conv("conv_proj", x, hidden, patch, patch, 0, 1, true);
  const int64_t tokens = x.h * x.w + 1;
  const int64_t rows = batch * tokens;
  const int64_t head_dim = hidden / heads;
  b.add("encoder.add", tokens * hidden);
  for (int i = 0; i < 12; ++i) {
    const std::string p = "encoder.layers.encoder_layer_" + str(i) + ".";
    b.layer_norm(p + "ln_1", hidden, rows);
    b.linear(p + "self_attention.in_proj", hidden, 3 * hidden, rows);
    b.matmul(p + "self_attention.matmul_qk", batch * heads, tokens, tokens, head_dim);
    b.act_elements(p + "self_attention.softmax", "softmax", heads * tokens * tokens);
    b.matmul(p + "self_attention.matmul_av", batch * heads, tokens, head_dim, tokens);
    b.linear(p + "self_attention.out_proj", hidden, hidden, rows);
    b.add(p + "add", tokens * hidden);
    b.layer_norm(p + "ln_2", hidden, rows);
    b.linear(p + "mlp.0", hidden, mlp, rows);
    b.act_elements(p + "mlp.1", "gelu", tokens * mlp);
    b.linear(p + "mlp.3", mlp, hidden, rows);
    b.add(p + "add_1", tokens * hidden);
  }
  b.layer_norm("encoder.ln", hidden, rows);
  b.linear("heads.head", hidden, 1000, batch);
  b.loss(1000);
  return b.finish(network, {3, 224, 224});
}

struct ZooEntry {
  const char* name;
  const char* description;
  std::function<Workload(const std::string&, int64_t)> build;
};

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = {
      {"resnet18", "ResNet-18, ImageNet 224x224 (torchvision), basic blocks [2, 2, 2, 2]",
       [](const std::string& n, int64_t b) {
         return resnet_imagenet(n, b, {2, 2, 2, 2}, false);
       }},
      {"resnet34", "ResNet-34, ImageNet 224x224 (torchvision), basic blocks [3, 4, 6, 3]",
       [](const std::string& n, int64_t b) {
         return resnet_imagenet(n, b, {3, 4, 6, 3}, false);
       }},
      {"resnet50", "ResNet-50 v1.5, ImageNet 224x224 (torchvision), bottleneck blocks [3, 4, 6, 3]",
       [](const std::string& n, int64_t b) {
         return resnet_imagenet(n, b, {3, 4, 6, 3}, true);
       }},
      {"resnet20",
       "ResNet-20, CIFAR-10 32x32 (He et al. 2016), 16/32/64 channels, identity shortcuts "
       "(option A)",
       [](const std::string& n, int64_t b) { return resnet_cifar(n, b, false); }},
      {"resnet20_b",
       "ResNet-20, CIFAR-10 32x32, 16/32/64 channels, 1x1 projection shortcuts (option B)",
       [](const std::string& n, int64_t b) { return resnet_cifar(n, b, true); }},
      {"vgg16", "VGG-16, ImageNet 224x224 (torchvision, no batch norm), fc 4096-4096-1000",
       [](const std::string& n, int64_t b) { return vgg16(n, b, false); }},
      {"vgg16_cifar", "VGG-16, CIFAR-10 32x32, conv-bn-relu, one fc 512 -> 10",
       [](const std::string& n, int64_t b) { return vgg16(n, b, true); }},
      {"mobilenet_v2",
       "MobileNetV2 1.0, ImageNet 224x224 (torchvision), depthwise convs as grouped convs",
       [](const std::string& n, int64_t b) { return mobilenet_v2(n, b); }},
      {"vit_b16",
       "ViT-B/16, ImageNet 224x224 (torchvision), 197 tokens, 12 layers, hidden 768, 12 heads",
       [](const std::string& n, int64_t b) { return vit_b16(n, b); }},
  };
  return entries;
}

const ZooEntry& find_entry(const std::string& name) {
  for (const auto& e : zoo()) {
    if (name == e.name) return e;
  }
  const std::vector<std::string> names = zoo_names();
  std::string msg = "unknown zoo network '" + name + "'";
  const std::string guess = did_you_mean(name, names);
  if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
  throw UserError(msg + " (known: " + join(names) + ")");
}

}  // namespace

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const auto& e : zoo()) names.push_back(e.name);
  return names;
}

std::string zoo_description(const std::string& name) { return find_entry(name).description; }

Workload zoo_workload(const std::string& name, int64_t batch) {
  const ZooEntry& e = find_entry(name);
  // The cap keeps the builders' per-layer products (batch * tokens, ...) far from overflow; a
  // network too large for 64-bit MAC counts at an allowed batch still fails in expand_layer.
  const int64_t max_batch = (int64_t{1} << 31) - 1;
  if (batch < 1 || batch > max_batch) {
    throw UserError("zoo network '" + name + "': batch: must be in [1, " + str(max_batch) +
                    "], got " + str(batch));
  }
  return e.build(e.name, batch);
}

}  // namespace lbsim
